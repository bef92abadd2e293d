import Dispatch
import Foundation
import Testing
import TestSupport

@_silgen_name("dispatch_queue_get_label") private func currentQueueLabel(_ queue: OpaquePointer?) -> UnsafePointer<CChar>

/// The suites' tests run on Dispatch's global queue, not on Swift's cooperative pool that the code
/// under test needs for its async work (see OwnThreads).
@Suite(.ownThreads) struct OwnThreadsTests {
    /// The label of the queue the caller runs on (libdispatch's C call: its Swift overlay offers
    /// only a queue's own label, not the current one's).
    static var queue: String { String(cString: currentQueueLabel(nil)) }

    @Test func aTestRunsOnTheGlobalQueue() {
        #expect(Self.queue.hasPrefix("com.apple.root."), "\(Self.queue)")
    }

    @Test func anAsyncTestComesBackToItAfterASuspension() async throws {
        try await Task.sleep(for: .milliseconds(10))
        #expect(Self.queue.hasPrefix("com.apple.root."), "\(Self.queue)")
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
        #expect(OwnThreadsTests.queue == "Swift global concurrent queue", "\(OwnThreadsTests.queue)")
    }
}
