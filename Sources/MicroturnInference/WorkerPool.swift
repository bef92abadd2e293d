import Foundation
import Synchronization

/// A fixed set of threads that share the rows of a matrix product (the size comes from the board
/// profile's `board.threads`). The calling thread works too, so `threads` is the total.
public final class WorkerPool: @unchecked Sendable {
    public let threads: Int
    /// What the workers use; they hold it themselves, so it outlives the pool until they exit.
    private let shared = Shared()

    final class Shared: @unchecked Sendable {
        let start = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let next = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        // The job being shared: set before the workers are woken, read only while they run.
        var job: ((Int) -> Void)?
        var count = 0

        func serve() {
            while true {
                start.wait()
                if stopping.load(ordering: .sequentiallyConsistent) { return }
                work()
                finished.signal()
            }
        }

        func work() {
            guard let job else { return }
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                if i >= count { return }
                job(i)
            }
        }
    }

    public init(threads: Int) {
        self.threads = max(1, threads)
        for _ in 1..<self.threads {
            let s = shared
            let t = Thread { s.serve() }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    deinit {
        shared.stopping.store(true, ordering: .sequentiallyConsistent)
        for _ in 1..<threads { shared.start.signal() }
    }

    /// Runs `body(0..<count)` spread over the threads; returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if threads == 1 || count < 2 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            let s = shared
            s.job = escaping
            s.count = count
            s.next.store(0, ordering: .sequentiallyConsistent)
            for _ in 1..<threads { s.start.signal() }
            s.work()
            for _ in 1..<threads { s.finished.wait() }
            s.job = nil
        }
    }
}
