import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// Hyper-parameters from metadata: what each architecture needs, and hostile values refused.
@Suite(.ownThreads) struct ModelConfigTests {
    static func file(_ extra: [(String, GGUFValue)], architecture: String = "llama") throws(GGUFError) -> GGUFFile {
        var w = TestGGUF()
        w.entries = [
            ("general.architecture", .string(architecture)),
            ("\(architecture).block_count", .uint(2, bits: 32)),
            ("\(architecture).embedding_length", .uint(64, bits: 32)),
            ("\(architecture).attention.head_count", .uint(4, bits: 32)),
            ("\(architecture).context_length", .uint(128, bits: 32)),
            ("tokenizer.ggml.tokens", .array([.string("a"), .string("b")])),
        ] + extra
        return try TestGGUF.parse(w.bytes())
    }

    @Test func defaultsFollowTheShapes() throws {
        let c = try ModelConfig(Self.file([]))
        #expect(c.kvHeads == 4 && c.headDim == 16 && c.ropeDims == 16 && c.experts == 0 && c.vocabulary == 2)
        #expect(abs(c.attentionScale - 0.25) < 1e-7)
    }

    @Test func hostileValuesAreRefusedByName() {
        func failure(_ extra: [(String, GGUFValue)], architecture: String = "llama") -> String {
            do { _ = try ModelConfig(Self.file(extra, architecture: architecture)); return "accepted" } catch { return error.description }
        }
        #expect(failure([("llama.attention.head_count_kv", .uint(0, bits: 32))]).contains("'llama.attention.head_count_kv'"))
        #expect(failure([("llama.attention.head_count_kv", .uint(3, bits: 32))]).contains("inconsistent shapes"))
        #expect(failure([("llama.attention.key_length", .int(-16, bits: 32))]).contains("key_length"))
        #expect(failure([("llama.expert_count", .uint(8, bits: 32))]).contains("'llama.expert_used_count' is missing"))
        #expect(failure([], architecture: "gpt-neox").contains("not an architecture this engine runs"))
        #expect(failure([("llama.rope.scaling.type", .string("yarn")), ("llama.rope.scaling.factor", .float(4, bits: 32))])
            .contains("'llama.rope.scaling.type'"))
        #expect(failure([("llama.rope.scaling.factor", .float(-2, bits: 32))]).contains("positive"))
    }

    @Test func ropeScalingFactorsFromEitherKey() throws {
        #expect(try ModelConfig(Self.file([])).ropeScale == 1)
        #expect(try ModelConfig(Self.file([("llama.rope.scaling.type", .string("linear")), ("llama.rope.scaling.factor", .float(8, bits: 32))])).ropeScale == 0.125)
        #expect(try ModelConfig(Self.file([("llama.rope.scale_linear", .float(2, bits: 32))])).ropeScale == 0.5)
    }
}
