import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// A prompt fed as one batch (or several, past `Transformer.maxBatch`) gives exactly the logits of
/// feeding it one token at a time: the same dot products, the same sums in the same order.
@Suite(.ownThreads) struct BatchTests {
    @Test(arguments: [("qwen3moe", "Q8_0"), ("granitemoe", "Q4_0"), ("qwen2moe", "F32"), ("llama", "Q8_0")])
    func batchesEqualOneTokenAtATime(arch: String, type: String) throws {
        let path = ReferenceTools.temp("batch-\(arch)-\(type).gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ReferenceTools.run(["tools/make-tiny-gguf.py", "--arch", arch, "--type", type, "--out", path])
        let batched = try Transformer(path: path, threads: 2), single = try Transformer(path: path, threads: 1)
        let vocab = batched.config.vocabulary
        let prompt = (0..<40).map { ($0 * 37 + 5) % vocab }
        let all = try batched.forward(tokens: prompt, allLogits: true)
        try #require(all.count == prompt.count * vocab)
        for (p, token) in prompt.enumerated() {
            #expect(Array(all[(p * vocab)..<((p + 1) * vocab)]) == (try single.forward(token: token)), "\(arch) \(type): position \(p)")
        }
        // Continuing after a batch: a second batch and a single token agree too.
        let more = [3, 9, 27]
        #expect(try batched.forward(tokens: more) == more.map { try single.forward(token: $0) }.last!)
        #expect(batched.position == prompt.count + more.count)
    }

    @Test func promptsLongerThanOneBatchAreSplit() throws {
        let path = ReferenceTools.temp("batch-split.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ReferenceTools.run(["tools/make-tiny-gguf.py", "--arch", "olmoe", "--type", "Q8_0", "--context", "512", "--out", path])
        let a = try Transformer(path: path, threads: 2), b = try Transformer(path: path, threads: 2)
        let vocab = a.config.vocabulary
        let prompt = (0..<(Transformer.maxBatch + 20)).map { ($0 * 11 + 1) % vocab }
        let whole = try a.forward(tokens: prompt, allLogits: true)
        var pieces: [Float] = []
        for start in stride(from: 0, to: prompt.count, by: 50) {
            pieces += try b.forward(tokens: Array(prompt[start..<min(prompt.count, start + 50)]), allLogits: true)
        }
        #expect(whole == pieces)
        #expect(try a.forward(tokens: prompt.suffix(1)) == b.forward(tokens: prompt.suffix(1)))
    }

    /// The key/value cache holds `context_length` positions at most: more is an error, and what was
    /// fed before stays usable.
    @Test func positionsPastTheContextAreRefused() throws {
        let path = ReferenceTools.temp("batch-context.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ReferenceTools.run(["tools/make-tiny-gguf.py", "--arch", "llama", "--type", "Q8_0", "--context", "16", "--out", path])
        let t = try Transformer(path: path, threads: 1)
        try #require(t.config.contextLength == 16)
        #expect(throws: GGUFError.contextFull(path: path, contextLength: 16, asked: 17)) { _ = try t.forward(tokens: Array(repeating: 5, count: 17)) }
        #expect(t.position == 0, "nothing was fed")
        _ = try t.forward(tokens: Array(repeating: 5, count: 15))
        _ = try t.forward(token: 6)
        #expect(throws: GGUFError.contextFull(path: path, contextLength: 16, asked: 17)) { _ = try t.forward(token: 7) }
        #expect(throws: GGUFError.unknownToken(path: path, token: t.config.vocabulary, vocabulary: t.config.vocabulary)) {
            t.reset()
            _ = try t.forward(token: t.config.vocabulary)
        }
        #expect(try t.forward(tokens: []).isEmpty)
    }
}
