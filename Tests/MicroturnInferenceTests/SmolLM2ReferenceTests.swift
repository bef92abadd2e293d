import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// The engine on a model someone trained: SmolLM2-135M-Instruct as published (Q4_1 with a Q8_0
/// embedding), and the same weights requantized by llama.cpp's own quantizer, against llama.cpp.
///
/// Quantized files cannot agree with llama.cpp to float rounding: both engines round activations
/// to 8 bits before each product, and on this model a single rounding that goes the other way
/// (llama.cpp's x86 code scales by 127 / max, the reference by 1 / (max / 127)) moves later logits
/// by a few percent of their range. So each quantized file is also checked against its own weights
/// in F32 (llama.cpp's quantizer dequantizes them; both engines agree there to 1e-4 of the range):
/// our error from those exact logits must be no larger than llama.cpp's own, within 25 %.
@Suite(.serialized, .ownThreads) struct SmolLM2ReferenceTests {
    static let conversation = [
        ChatMessage(.system, "You are a friendly fitness coach on a smart mirror. Keep answers short and practical."),
        ChatMessage(.user, "Hi! I want to start doing squats every morning. How many should I do at first, and how do I keep my back straight?"),
        ChatMessage(.assistant, "Start with three sets of ten. Keep your chest up, your weight on your heels, and push your hips back as if sitting on a chair."),
        ChatMessage(.user, "My knees hurt a little after the second set. Should I stop, or is that normal when you begin? And what about lunges?"),
    ]

    static func prompt(_ generator: Generator) throws -> [Int] { try generator.chatPrompt(conversation, budget: 64) }

    /// A requantized copy of the published file (or the file itself for "Q4_1").
    static func file(_ type: String) throws -> String {
        let published = try ReferenceTools.smolLM2()
        if type == "Q4_1" { return published }
        let out = ReferenceTools.temp("smollm2-\(type).gguf")
        _ = try ReferenceTools.run(["tools/llama-reference.py", "quantize", "--model", published, "--out", out, "--type", type])
        return out
    }

    static func llamaLogits(_ path: String, _ tokens: [Int]) throws -> [Float] { try LlamaReferenceTests.reference(path, tokens: tokens) }

    struct Errors { var max = 0.0, rms = 0.0 }

    static func errors(_ a: [Float], _ b: [Float], range: Double) -> Errors {
        var e = Errors(), sq = 0.0
        for i in a.indices {
            let d = Double(a[i] - b[i])
            e.max = max(e.max, abs(d))
            sq += d * d
        }
        e.max /= range
        e.rms = (sq / Double(a.count)).squareRoot()
        return e
    }

    @Test(arguments: ["Q4_1", "Q8_0", "Q4_0", "Q4_K_M", "Q6_K"])
    func logitsAgreeWithLlamaCppOnAChatPrompt(type: String) throws {
        let path = try Self.file(type)
        let truthFile = ReferenceTools.temp("smollm2-\(type)-f32.gguf")
        defer {
            if type != "Q4_1" { try? FileManager.default.removeItem(atPath: path) }
            try? FileManager.default.removeItem(atPath: truthFile)
        }
        let generator = try Generator(path: path, threads: 2)
        let tokens = try Self.prompt(generator)
        try #require(tokens.count >= 128, "the chat prompt has \(tokens.count) tokens")
        let vocab = generator.transformer.config.vocabulary
        let ours = try generator.transformer.forward(tokens: tokens, allLogits: true)
        let theirs = try Self.llamaLogits(path, tokens)
        try #require(theirs.count == ours.count)
        // The same weights in F32, and the logits they give (llama.cpp's; ours agree, below).
        _ = try ReferenceTools.run(["tools/llama-reference.py", "quantize", "--model", path, "--out", truthFile, "--type", "F32"])
        let truth = try Self.llamaLogits(truthFile, tokens)
        let range = Double(theirs.max()! - theirs.min()!)
        let ourError = Self.errors(ours, truth, range: range), theirError = Self.errors(theirs, truth, range: range)
        let between = Self.errors(ours, theirs, range: range)
        #expect(ourError.rms <= 1.25 * theirError.rms, "\(type): rms error from the F32 logits: ours \(ourError.rms), llama.cpp's \(theirError.rms)")
        #expect(between.max <= 0.06, "\(type): max difference from llama.cpp \(between.max) of the range")
        // The same top token wherever llama.cpp's top two are more than 2 % of the range apart.
        var mismatches: [Int] = []
        for p in tokens.indices {
            let t = theirs[(p * vocab)..<((p + 1) * vocab)], o = ours[(p * vocab)..<((p + 1) * vocab)]
            let ranked = t.indices.sorted { t[$0] > t[$1] }.prefix(2)
            let top = o.indices.max { o[$0] < o[$1] }! - o.startIndex
            if Double(t[ranked.first!] - t[ranked.last!]) > 0.02 * range, top != ranked.first! - t.startIndex { mismatches.append(p) }
        }
        #expect(mismatches.isEmpty, "\(type): top token differs at positions \(mismatches)")
        print("SmolLM2 \(type), \(tokens.count)-token chat prompt: max |ours - llama.cpp| \(between.max) of the range; rms error from F32 weights: ours \(ourError.rms), llama.cpp \(theirError.rms)")
    }

    /// On the published weights in F32 the engines agree to float rounding, and so do greedy replies.
    @Test func f32WeightsAgreeToRoundingAndRepliesAreIdentical() throws {
        let path = ReferenceTools.temp("smollm2-f32.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ReferenceTools.run(["tools/llama-reference.py", "quantize", "--model", try ReferenceTools.smolLM2(), "--out", path, "--type", "F32"])
        let generator = try Generator(path: path, threads: 2)
        let tokens = try Self.prompt(generator)
        let ours = try generator.transformer.forward(tokens: tokens, allLogits: true)
        let theirs = try Self.llamaLogits(path, tokens)
        let range = Double(theirs.max()! - theirs.min()!)
        #expect(Self.errors(ours, theirs, range: range).max <= 1e-4)
        // An F16 key/value cache (llama.cpp's default) against llama.cpp's: half the memory, and
        // within float rounding of F16 (the two round the query and the softmax weights to F16
        // at the same places, not in the same order).
        let half = try Transformer(path: path, threads: 2, kvCache: .f16)
        let ours16 = try half.forward(tokens: tokens, allLogits: true)
        #expect(half.cacheBytes * 2 == generator.transformer.cacheBytes)
        let out = ReferenceTools.temp("ref16.f32")
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try ReferenceTools.run(["tools/llama-reference.py", "logits", "--model", path, "--tokens", tokens.map(String.init).joined(separator: ","),
                                    "--out", out, "--kv-cache", "f16"])
        let theirs16 = try Data(contentsOf: URL(fileURLWithPath: out)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let e16 = Self.errors(ours16, theirs16, range: range)
        #expect(e16.max <= 2e-3, "F16 cache: max difference \(e16.max) of the range")
        print("SmolLM2 F32 weights: F16 key/value cache, max |ours - llama.cpp (F16 cache)| \(e16.max) of the range; cache \(half.cacheBytes) bytes against \(generator.transformer.cacheBytes) in F32")
        for question in ["What is a squat?", "Name three fruits.", "How do I reset the kiosk when the screen is frozen?"] {
            let prompt = try generator.chatPrompt([ChatMessage(.user, question)], budget: 64)
            var options = Generator.Options()
            options.budget = 64
            let reply = try generator.generate(prompt: prompt, options: options)
            let r = try ReferenceTools.tool(["tools/llama-reference.py", "generate", "--model", path, "--tokens",
                                             prompt.map(String.init).joined(separator: ","), "-n", "64"], stdout: true)
            try #require(r.status == 0, "\(r.err)")
            let expected = r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
            // llama.cpp's generate goes on past the end of turn; ours stops there.
            #expect(Array(expected.prefix(reply.tokens.count)) == reply.tokens, "\(question): ours \(reply.tokens), llama.cpp \(expected)")
            if reply.stop == .endOfTurn { #expect(generator.stopTokens.contains(expected[reply.tokens.count])) }
        }
    }

    /// Greedy replies on the published file: identical to llama.cpp's until the first step where
    /// our two best tokens are within 2 % of the logit range (a near tie either engine's rounding
    /// can tip; how many tokens come before one depends on the prompt, so it is printed, not
    /// asserted).
    @Test func publishedFileRepliesMatchUntilANearTie() throws {
        let path = try ReferenceTools.smolLM2()
        let generator = try Generator(path: path, threads: 2)
        for question in ["What is a squat?", "Name three fruits.", "How do I reset the kiosk when the screen is frozen?"] {
            let prompt = try generator.chatPrompt([ChatMessage(.user, question)], budget: 64)
            let r = try ReferenceTools.tool(["tools/llama-reference.py", "generate", "--model", path, "--tokens",
                                             prompt.map(String.init).joined(separator: ","), "-n", "64"], stdout: true)
            try #require(r.status == 0, "\(r.err)")
            let expected = r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
            generator.transformer.reset()
            var logits = try generator.transformer.forward(tokens: prompt)
            var same = 0
            for theirs in expected {
                let sorted = logits.sorted(by: >)
                let ours = logits.indices.max { logits[$0] < logits[$1] }!
                if ours != theirs {
                    let range = Double(sorted.first! - sorted.last!)
                    #expect(Double(logits[ours] - logits[theirs]) < 0.02 * range,
                            "\(question): step \(same) differs (ours \(ours), llama.cpp \(theirs)) where our logits are clearly apart")
                    break
                }
                if generator.stopTokens.contains(ours) { break }
                same += 1
                logits = try generator.transformer.forward(token: ours)
            }
            print("SmolLM2 Q4_1 greedy reply to \(question.debugDescription): \(same) tokens identical to llama.cpp's")
        }
        generator.transformer.reset()
    }

    @Test func perplexityWithinOnePercentOfLlamaCpp() throws {
        let path = try ReferenceTools.smolLM2(), text = "/usr/share/common-licenses/GPL-3"
        let r = try ReferenceTools.tool(["tools/llama-reference.py", "perplexity", "--model", path, "--text", text, "--ctx", "256", "--chunks", "6"], stdout: true)
        try #require(r.status == 0, "\(r.err)")
        let theirs = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let file = try GGUFFile(path: path)
        let tokenizer = try Tokenizer(file: file)
        let tokens = tokenizer.encode(try String(contentsOfFile: text, encoding: .utf8), special: false)
        let ours = try Perplexity.measure(Transformer(file: file, threads: 2), tokens: tokens, context: 256, bos: nil, maxChunks: 6)
        let expected = try #require(theirs["perplexity"] as? Double)
        #expect(ours.scoredTokens == theirs["scored_tokens"] as? Int)
        #expect(abs(ours.perplexity - expected) / expected < 0.01, "ours \(ours.perplexity), llama.cpp \(expected)")
        // A text too short for two chunks is said, with what would do.
        #expect(throws: Perplexity.Failure.tooShort(tokens: 300, context: 256)) {
            try Perplexity.measure(Transformer(file: file), tokens: Array(tokens.prefix(300)), context: 256, bos: nil)
        }
    }
}
