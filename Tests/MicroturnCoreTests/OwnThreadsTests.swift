import Foundation
import Testing
@testable import TestSupport

/// The suites' tests run on the test threads, not on Swift's cooperative pool, which is left to
/// the code under test (see OwnThreads).
@Suite(.ownThreads) struct OwnThreadsTests {
    /// The calling thread's name.
    static var thread: String { Thread.current.name ?? "" }

    @Test func aTestRunsOnTheTestThreads() {
        #expect(Self.thread.hasPrefix(TestThreads.namePrefix), "\(Self.thread)")
    }

    @Test func anAsyncTestComesBackToThemAfterASuspension() async throws {
        try await Task.sleep(for: .milliseconds(10))
        #expect(Self.thread.hasPrefix(TestThreads.namePrefix), "\(Self.thread)")
    }

    /// Each test thread carries its name (Thread.start(named:), as the product's threads do), also
    /// when the threads are made on a pool thread (as the shared ones are, by the first test that
    /// needs them): a name set before Foundation knew the system thread was lost now and then, and
    /// one CI run failed the two tests above on a test thread that kept its maker's name
    /// ("oot.default-qos"); this test failed in 3 of 5 runs then.
    @Test func threadsMadeOnThePoolCarryTheirNames() async {
        var names: [String] = []
        for _ in 0..<20 {
            let threads = await Task.detached { TestThreads(count: 3) }.value
            names += await Self.names(of: threads, count: 3)
        }
        #expect(names.count == 60)
        let unnamed = names.filter { !$0.hasPrefix(TestThreads.namePrefix) }
        #expect(unnamed.isEmpty, "\(unnamed)")
    }

    /// The names of the `count` threads of `threads`: as many jobs, each waiting until all of them run,
    /// so that each holds a thread of its own.
    static func names(of threads: TestThreads, count: Int) async -> [String] {
        let barrier = DispatchGroup()
        for _ in 0..<count { barrier.enter() }
        return await withTaskGroup(of: String.self) { group in
            for _ in 0..<count {
                group.addTask(executorPreference: threads) { meet(at: barrier) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// Waits at `barrier` for the others and names the thread it waited on.
    static func meet(at barrier: DispatchGroup) -> String {
        barrier.leave()
        barrier.wait()
        return thread
    }

    /// What a test starts on its own (as the code under test does) runs on the cooperative pool, so
    /// a test that blocks until it is done cannot hold the thread it needs.
    @Test func aTaskATestStartsRunsOnTheCooperativePool() async {
        let there = await Task { Self.thread }.value
        #expect(!there.hasPrefix(TestThreads.namePrefix), "\(there)")
    }

    /// A suite written without the trait would hold a cooperative thread again: every suite in
    /// Tests/ has it, except the comparison below.
    @Test func everySuiteHasTheTrait() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let files = FileManager.default.enumerator(atPath: tests.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        var without: [String] = []
        for file in files {
            let text = try String(contentsOf: tests.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("@Suite") && !line.contains(".ownThreads")
                && !line.contains("CooperativePoolTests") && !line.contains("\"@Suite") {
                without.append("\(file): \(line)")
            }
        }
        #expect(files.count > 50)
        #expect(without.isEmpty, "suites without .ownThreads: \(without)")
    }
}

/// Without the trait, for comparison: a test holds one of the cooperative pool's threads.
@Suite struct CooperativePoolTests {
    @Test func withoutTheTraitATestRunsOnTheCooperativePool() {
        #expect(!OwnThreadsTests.thread.hasPrefix(TestThreads.namePrefix), "\(OwnThreadsTests.thread)")
    }
}
