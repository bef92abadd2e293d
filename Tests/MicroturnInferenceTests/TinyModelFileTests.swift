import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// The reader on the tiny models tools/make-tiny-gguf.py writes with gguf-py, for every
/// architecture the engine is to run.
@Suite(.ownThreads) struct TinyModelFileTests {
    static func make(_ arch: String, _ type: String) throws -> GGUFFile {
        let path = Scratch.directory.appendingPathComponent("mt-tiny-\(arch)-\(type)-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }  // the mapping outlives the name
        let r = try ReferenceTools.tool(["tools/make-tiny-gguf.py", "--arch", arch, "--type", type, "--out", path])
        try #require(r.status == 0, "tools/make-tiny-gguf.py failed (tools/setup.sh --tests installs gguf and numpy): \(r.err)")
        return try GGUFFile(path: path)
    }

    @Test(arguments: ["qwen3moe", "olmoe", "mixtral", "qwen2moe", "granitemoe", "llama", "qwen3"], ["F32", "Q8_0", "Q4_0"])
    func everyArchitectureReads(arch: String, type: String) throws {
        let f = try Self.make(arch, type)
        let name = f.architecture ?? "?"
        #expect(name == (arch == "mixtral" ? "llama" : arch))
        let layers = try #require(f.metadata["\(name).block_count"]?.integer)
        #expect(layers == 2)
        let width = try #require(f.metadata["\(name).embedding_length"]?.integer)
        let weightType = GGMLType(rawValue: ["F32": 0, "Q8_0": 8, "Q4_0": 2][type]!)!
        for t in f.tensors {
            if t.name.hasSuffix("norm.weight") {
                #expect(t.type == .f32, "\(t.name) stays F32")
            } else if !t.name.hasSuffix("gate_inp_shexp.weight") {
                #expect(t.type == weightType, "\(t.name)")
            }
        }
        if let experts = f.metadata["\(name).expert_count"]?.integer {
            let up = try #require(f.tensor("blk.1.ffn_up_exps.weight"))
            #expect(up.shape.first == width && up.shape.last == experts)
            #expect(f.tensor("blk.0.ffn_gate_inp.weight")?.shape == [width, experts])
        } else {
            #expect(f.tensor("blk.0.ffn_up.weight") != nil)
        }
        #expect((f.tensor("blk.0.ffn_gate_inp_shexp.weight") != nil) == (arch == "qwen2moe"))
        #expect((f.tensor("blk.0.attn_q_norm.weight") != nil) == ["qwen3moe", "olmoe", "qwen3"].contains(arch))
        let tokens = try #require(f.metadata["tokenizer.ggml.tokens"]?.array)
        #expect(tokens.count == 512)
        #expect(f.tensor("token_embd.weight")?.shape == [width, 512])
    }
}
