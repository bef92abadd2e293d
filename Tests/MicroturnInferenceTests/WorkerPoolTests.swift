import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

@Suite(.ownThreads) struct WorkerPoolTests {
    @Test(arguments: [1, 2, 4])
    func everyIndexRunsExactlyOnce(threads: Int) {
        let pool = WorkerPool(threads: threads)
        for count in [0, 1, 7, 1000] {
            // Each index has its own slot, so a correct pool never has two threads write one.
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, count))
            defer { hits.deallocate() }
            hits.initialize(repeating: 0)
            pool.parallelFor(count) { hits[$0] += 1 }
            #expect(hits.prefix(count).allSatisfy { $0 == 1 }, "\(threads) threads, \(count) indices")
        }
    }

    /// Two threads share one pool: their jobs take turns, and each index of each job runs once.
    @Test func twoCallersTakeTurns() {
        let pool = WorkerPool(threads: 3)
        let rounds = 300, count = 64
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2 * count)
        defer { hits.deallocate() }
        hits.initialize(repeating: 0)
        let slots = UncheckedSlots(hits)
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for _ in 0..<rounds { pool.parallelFor(count) { slots.base[caller * count + $0] += 1 } }
        }
        #expect(hits.allSatisfy { $0 == rounds }, "\(Array(hits))")
    }

    /// (Each caller writes only its own half, and each index within a job once.)
    struct UncheckedSlots: @unchecked Sendable {
        let base: UnsafeMutableBufferPointer<Int>
        init(_ base: UnsafeMutableBufferPointer<Int>) { self.base = base }
    }

    @Test func poolsComeAndGoCleanly() {
        // Each pool's threads outlive it briefly while they notice it is gone.
        for k in 0..<50 {
            let pool = WorkerPool(threads: 3)
            var total = 0
            let lock = NSLock()
            pool.parallelFor(k + 2) { i in lock.withLock { total += i } }
            #expect(total == (k + 2) * (k + 1) / 2)
        }
    }

    @Test func threadsDoNotChangeTheLogits() throws {
        let path = ReferenceTools.temp("qwen3moe.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ReferenceTools.run(["tools/make-tiny-gguf.py", "--arch", "qwen3moe", "--type", "Q8_0", "--out", path])
        let one = try Transformer(path: path, threads: 1), two = try Transformer(path: path, threads: 3)
        for t in LlamaReferenceTests.prompt.prefix(16) { #expect(try one.forward(token: t) == two.forward(token: t)) }
    }
}
