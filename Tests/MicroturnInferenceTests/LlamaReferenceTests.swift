import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// The engine against llama.cpp (llama-cpp-python, tools/llama-reference.py) on the same tiny
/// models: logits at every position of a 64-token prompt, and greedy continuations.
@Suite(.serialized, .ownThreads) struct LlamaReferenceTests {
    static let architectures = ["llama", "mixtral", "qwen3", "qwen3moe", "olmoe", "qwen2moe", "granitemoe"]
    static let prompt = (0..<64).map { ($0 * 37 + 11) % 509 + 3 }

    /// A tiny model of `arch` in `type`; K-quants come from llama.cpp's quantizer, on rows of 256.
    static func model(_ arch: String, _ type: String, extra: [String] = []) throws -> String {
        let path = ReferenceTools.temp("\(arch)-\(type).gguf")
        if type == "Q4_K_M" {
            let f32 = ReferenceTools.temp("\(arch)-f32.gguf")
            defer { try? FileManager.default.removeItem(atPath: f32) }
            _ = try ReferenceTools.run(["tools/make-tiny-gguf.py", "--arch", arch, "--type", "F32", "--width", "256", "--ff", "256",
                         "--head-dim", "64", "--out", f32])
            _ = try ReferenceTools.run(["tools/llama-reference.py", "quantize", "--model", f32, "--out", path, "--type", "Q4_K_M"])
        } else {
            _ = try ReferenceTools.run(["tools/make-tiny-gguf.py", "--arch", arch, "--type", type, "--out", path] + extra)
        }
        return path
    }

    static func reference(_ path: String, tokens: [Int]) throws -> [Float] {
        let out = ReferenceTools.temp("ref.f32")
        defer { try? FileManager.default.removeItem(atPath: out) }
        _ = try ReferenceTools.run(["tools/llama-reference.py", "logits", "--model", path, "--tokens",
                     tokens.map(String.init).joined(separator: ","), "--out", out])
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    @Test(arguments: architectures, ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K_M"])
    func logitsAgreeAtEveryPosition(arch: String, type: String) throws {
        let path = try Self.model(arch, type)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.compareLogits(path, arch, type)
    }

    /// Linear rope scaling from the metadata, with both rope orderings (llama: NORM, qwen3: NEOX).
    @Test(arguments: ["llama", "qwen3"])
    func linearRopeScalingAgrees(arch: String) throws {
        let path = try Self.model(arch, "F32", extra: ["--rope-scale", "4"])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Transformer(path: path).config.ropeScale == 0.25)
        try Self.compareLogits(path, arch, "F32")
    }

    static func compareLogits(_ path: String, _ arch: String, _ type: String) throws {
        let engine = try Transformer(path: path)
        let vocab = engine.config.vocabulary
        let expected = try Self.reference(path, tokens: Self.prompt)
        try #require(expected.count == Self.prompt.count * vocab)
        let range = Double((expected.max() ?? 0) - (expected.min() ?? 0))
        let tolerance = (type == "F32" ? 1e-4 : 1e-2) * range
        var worst = 0.0, topMismatches: [Int] = []
        // The whole prompt as one batch (BatchTests: the same as one token at a time).
        let all = try engine.forward(tokens: Self.prompt, allLogits: true)
        for p in Self.prompt.indices {
            let ours = Array(all[(p * vocab)..<((p + 1) * vocab)])
            let theirs = expected[(p * vocab)..<((p + 1) * vocab)]
            for i in 0..<vocab { worst = max(worst, Double(abs(ours[i] - theirs[theirs.startIndex + i]))) }
            // The same top token wherever llama.cpp's top two are clearly apart.
            let ranked = theirs.indices.sorted { theirs[$0] > theirs[$1] }
            if Double(theirs[ranked[0]] - theirs[ranked[1]]) > tolerance,
               ours.indices.max(by: { ours[$0] < ours[$1] }) != ranked[0] - theirs.startIndex {
                topMismatches.append(p)
            }
        }
        #expect(worst <= tolerance, "\(arch) \(type): max |difference| \(worst), range \(range)")
        #expect(topMismatches.isEmpty, "\(arch) \(type): top token differs at positions \(topMismatches)")
    }

    @Test(arguments: architectures)
    func greedyGenerationsAreIdentical(arch: String) throws {
        let path = try Self.model(arch, "F32")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let start = Array(Self.prompt.prefix(8))
        let r = try ReferenceTools.tool(["tools/llama-reference.py", "generate", "--model", path, "--tokens",
                                         start.map(String.init).joined(separator: ","), "-n", "32"], stdout: true)
        try #require(r.status == 0, "\(r.err)")
        let theirs = r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
        let engine = try Transformer(path: path)
        var logits: [Float] = []
        for t in start { logits = try engine.forward(token: t) }
        var ours: [Int] = []
        for _ in 0..<32 {
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            ours.append(next)
            logits = try engine.forward(token: next)
        }
        #expect(ours == theirs, "\(arch): ours \(ours), llama.cpp \(theirs)")
    }
}
