import CMicroturnKernels
import Foundation
import MicroturnCore
import Synchronization

/// A fixed set of threads that share the rows of matrix products (the size comes from the board
/// profile's `board.threads`). The calling thread works too, so `threads` is the total.
///
/// A forward pass hands the pool a few hundred short jobs per token, so the workers spin for a
/// while between jobs instead of sleeping (a wake-up through the kernel costs about as much as a
/// small job); after `spinLimit` idle checks they sleep until the next job.
///
/// The pool shares one job at a time: `parallelFor` calls from two threads take turns (`caller`).
public final class WorkerPool: Sendable {
    public let threads: Int
    /// What the workers use; they hold it themselves, so it outlives the pool until they exit.
    private let shared = Shared()
    /// Held for the whole of a `parallelFor`, so that two callers never post over each other's job.
    private let caller = Mutex(())

    /// (Unchecked Sendable: `job` and `count` are written by the one caller holding `caller`
    /// before the releasing bump of `generation`, and read by workers only after they acquire
    /// that bump and before they decrement `pending`, which the caller waits for.)
    final class Shared: @unchecked Sendable {
        /// Idle checks (each a CPU spin hint) before a worker goes to sleep: about a millisecond.
        static let spinLimit = 20_000
        /// Bumped once per job (under `lock`, so a worker checking it under the lock before
        /// sleeping cannot miss the broadcast); spinning workers read it without the lock.
        let generation = Atomic<Int>(0)
        /// Workers that have not finished the current job.
        let pending = Atomic<Int>(0)
        let next = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let lock = NSCondition()
        // The job being shared: set before `generation` is bumped, read only while it runs.
        var job: ((Int) -> Void)?
        var count = 0

        func serve() {
            var seen = 0
            while true {
                var idle = 0
                while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) {
                    idle += 1
                    if idle < Self.spinLimit {
                        mt_spin_pause()
                        continue
                    }
                    lock.lock()
                    while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) { lock.wait() }
                    lock.unlock()
                }
                if stopping.load(ordering: .acquiring) { return }
                seen = generation.load(ordering: .acquiring)
                work()
                pending.subtract(1, ordering: .releasing)
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

        /// Starts the next job (or the end, with `stop`) and wakes the workers that sleep.
        func post(stop: Bool = false) {
            lock.lock()
            if stop { stopping.store(true, ordering: .releasing) } else { generation.add(1, ordering: .releasing) }
            lock.broadcast()
            lock.unlock()
        }
    }

    public init(threads: Int) {
        self.threads = max(1, threads)
        for _ in 1..<self.threads {
            let s = shared
            Thread.start(named: "microturn-math", stackSize: 1 << 20) { s.serve() }
        }
    }

    deinit { shared.post(stop: true) }

    /// Runs `body(0..<count)` spread over the threads; returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if threads == 1 || count < 2 {
            for i in 0..<count { body(i) }
            return
        }
        caller.withLock { _ in
            withoutActuallyEscaping(body) { escaping in
                let s = shared
                s.job = escaping
                s.count = count
                s.next.store(0, ordering: .relaxed)
                s.pending.store(threads - 1, ordering: .relaxed)
                s.post()
                s.work()
                while s.pending.load(ordering: .acquiring) > 0 { mt_spin_pause() }
                s.job = nil
            }
        }
    }
}
