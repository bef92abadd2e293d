import Foundation
@testable import MicroturnInference
import Testing

/// A prompt fed as one batch (or several, past `Transformer.maxBatch`) gives exactly the logits of
/// feeding it one token at a time: the same dot products, the same sums in the same order.
@Suite struct BatchTests {
    @Test(arguments: [("qwen3moe", "Q8_0"), ("granitemoe", "Q4_0"), ("qwen2moe", "F32"), ("llama", "Q8_0")])
    func batchesEqualOneTokenAtATime(arch: String, type: String) throws {
        let path = ReferenceTools.temp("batch-\(arch)-\(type).gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ReferenceTools.run(["tools/make-tiny-gguf.py", "--arch", arch, "--type", type, "--out", path])
        let batched = try Transformer(path: path, threads: 2), single = try Transformer(path: path, threads: 1)
        let vocab = batched.config.vocabulary
        let prompt = (0..<40).map { ($0 * 37 + 5) % vocab }
        let all = batched.forward(tokens: prompt, allLogits: true)
        try #require(all.count == prompt.count * vocab)
        for (p, token) in prompt.enumerated() {
            #expect(Array(all[(p * vocab)..<((p + 1) * vocab)]) == single.forward(token: token), "\(arch) \(type): position \(p)")
        }
        // Continuing after a batch: a second batch and a single token agree too.
        let more = [3, 9, 27]
        #expect(batched.forward(tokens: more) == more.map { single.forward(token: $0) }.last!)
        #expect(batched.position == prompt.count + more.count)
    }

    @Test func promptsLongerThanOneBatchAreSplit() throws {
        let path = ReferenceTools.temp("batch-split.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ReferenceTools.run(["tools/make-tiny-gguf.py", "--arch", "olmoe", "--type", "Q8_0", "--out", path])
        let a = try Transformer(path: path, threads: 2), b = try Transformer(path: path, threads: 2)
        let vocab = a.config.vocabulary
        let prompt = (0..<(Transformer.maxBatch + 20)).map { ($0 * 11 + 1) % vocab }
        let whole = a.forward(tokens: prompt, allLogits: true)
        var pieces: [Float] = []
        for start in stride(from: 0, to: prompt.count, by: 50) {
            pieces += b.forward(tokens: Array(prompt[start..<min(prompt.count, start + 50)]), allLogits: true)
        }
        #expect(whole == pieces)
        #expect(a.forward(tokens: prompt.suffix(1)) == b.forward(tokens: prompt.suffix(1)))
    }
}
