import Foundation
import Synchronization

/// A fixed set of threads that share the rows of a matrix product (the size comes from the board
/// profile's `board.threads`). The calling thread works too, so `threads` is the total.
public final class WorkerPool: @unchecked Sendable {
    public let threads: Int
    private let start = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let next = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    // The job being shared; set before the workers are woken, read only while they run.
    private var job: ((Int) -> Void)?
    private var count = 0

    public init(threads: Int) {
        self.threads = max(1, threads)
        for _ in 1..<self.threads {
            let t = Thread { [unowned self] in self.serve() }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        for _ in 1..<threads { start.signal() }
    }

    private func serve() {
        while true {
            start.wait()
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            work()
            finished.signal()
        }
    }

    private func work() {
        guard let job else { return }
        while true {
            let i = next.add(1, ordering: .relaxed).oldValue
            if i >= count { return }
            job(i)
        }
    }

    /// Runs `body(0..<count)` spread over the threads; returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if threads == 1 || count < 2 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            job = escaping
            self.count = count
            next.store(0, ordering: .sequentiallyConsistent)
            for _ in 1..<threads { start.signal() }
            work()
            for _ in 1..<threads { finished.wait() }
            job = nil
        }
    }
}
