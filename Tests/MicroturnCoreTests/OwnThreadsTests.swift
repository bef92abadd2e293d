import Foundation
import Testing
import TestSupport

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
