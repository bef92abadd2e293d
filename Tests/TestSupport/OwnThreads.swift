import Dispatch
import Testing

/// Runs each test of a suite on threads of its own instead of Swift's cooperative pool.
///
/// Why: the cooperative pool has one thread per core (two here), and most tests block the thread
/// they run on (a child process, a virtual board booting, a simulation, a semaphore). Two such
/// tests held both threads for minutes while every other test, and the async work of the code
/// under test (a server's drain, a client's reconnect), waited behind them: a run of the suite
/// stalled for 514 s at its start, and a CI run never finished. Dispatch's global queue adds a
/// thread when its threads are blocked and not when they compute, so blocked tests no longer
/// hold up the rest and computing ones still share the cores.
public struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(DispatchExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreads {
    /// Each test on threads of its own (see `OwnThreads`); every suite of the project has it.
    public static var ownThreads: OwnThreads { OwnThreads() }
}

/// A task executor on Dispatch's global queue, which grows while its threads are blocked.
final class DispatchExecutor: TaskExecutor {
    static let shared = DispatchExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        DispatchQueue.global().async { job.runSynchronously(on: executor) }
    }
}
