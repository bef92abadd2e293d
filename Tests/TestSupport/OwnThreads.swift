import Foundation
import MicroturnCore
import Testing

/// Runs each test of a suite on the test threads (`TestThreads`) instead of Swift's cooperative
/// pool.
///
/// Why: the cooperative pool has one thread per core (two here), and most tests block the thread
/// they run on (a child process, a virtual board booting, a simulation, a semaphore). Two such
/// tests held both threads for minutes while every other test, and the async work of the code
/// under test (a server's drain, a client's reconnect), waited behind them: a run of the suite
/// stalled for 514 s at its start, and two tests that both wait for async work could hold them
/// for good (the likely reason a CI run did not finish in 90 min). With the tests on threads of
/// their own, the cooperative pool is left to the code under test.
public struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(TestThreads.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreads {
    /// Each test on the test threads (see `OwnThreads`); every suite of the project has it.
    public static var ownThreads: OwnThreads { OwnThreads() }
}

/// A fixed number of threads that run the tests: one more than the cores, so that a test blocked
/// on a child process does not stop the rest, and no more, since most tests start processes or
/// threads of their own and the ones that run in real time need the cores (a pool that grew
/// whenever a test blocked ran so many at once that a real-time session fell behind).
/// The newest job runs first: a test already under way (resumed after a suspension) goes on before
/// tests that have not started, so that no test waits out its own deadlines behind the queue.
public final class TestThreads: TaskExecutor, @unchecked Sendable {
    public static let shared = TestThreads(count: ProcessInfo.processInfo.activeProcessorCount + 1)
    /// What each thread is called (`Thread.current.name`).
    public static let namePrefix = "test-thread-"  // (Linux keeps 15 characters of a name)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []  // under `condition`

    init(count: Int) {
        for i in 0..<count {
            let name = "\(Self.namePrefix)\(i)"
            Thread.start(named: name) { self.work() }  // serving it for good, they keep it
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeLast()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
