import Foundation
import Synchronization

/// One thread of its own that runs jobs in order. For blocking work off a real-time path (speech
/// synthesis): Dispatch's shared threads can all be blocked by others in a busy process, and then
/// a job queued there waits; this thread is never shared. It ends when the object goes away.
public final class SerialThread: Sendable {
    private final class Shared: Sendable {
        let jobs = Mutex<(queue: [@Sendable () -> Void], stopping: Bool)>(([], false))
        let signal = DispatchSemaphore(value: 0)
    }

    private let shared = Shared()

    public init(name: String) {
        let shared = self.shared
        Thread.start(named: name) {
            while true {
                shared.signal.wait()
                while let job = shared.jobs.withLock({ $0.queue.isEmpty ? nil : $0.queue.removeFirst() }) { job() }
                if shared.jobs.withLock({ $0.stopping }) { return }
            }
        }
    }

    deinit {
        shared.jobs.withLock { $0.stopping = true }
        shared.signal.signal()
    }

    /// Runs `job` after those queued before it.
    public func async(_ job: @escaping @Sendable () -> Void) {
        shared.jobs.withLock { $0.queue.append(job) }
        shared.signal.signal()
    }
}
