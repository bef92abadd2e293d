import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// The GGUF reader on files written here, whole and broken in every way the format allows.
@Suite(.ownThreads) struct GGUFFileTests {
    /// A small valid file: every metadata type (nested arrays too) and F32, Q8_0 and Q4_K tensors.
    static func sample(alignment: Int = 32) -> TestGGUF {
        var w = TestGGUF()
        w.alignment = alignment
        w.entries = [
            ("general.architecture", .string("qwen3moe")),
            ("general.alignment", .uint(UInt64(alignment), bits: 32)),
            ("qwen3moe.block_count", .uint(2, bits: 32)),
            ("qwen3moe.expert_count", .uint(4, bits: 32)),
            ("qwen3moe.rope.freq_base", .float(1_000_000, bits: 32)),
            ("t.u8", .uint(200, bits: 8)), ("t.i8", .int(-5, bits: 8)), ("t.u16", .uint(60_000, bits: 16)),
            ("t.i16", .int(-30_000, bits: 16)), ("t.i32", .int(-7, bits: 32)), ("t.u64", .uint(1 << 40, bits: 64)),
            ("t.i64", .int(-(1 << 40), bits: 64)), ("t.f64", .float(0.125, bits: 64)), ("t.bool", .bool(true)),
            ("t.strings", .array([.string("a"), .string("héllo"), .string("")])),
            ("t.nested", .array([.array([.int(1, bits: 32), .int(2, bits: 32)]), .array([.int(3, bits: 32)])])),
        ]
        w.tensors = [
            ("token_embd.weight", [64, 3], GGMLType.f32.rawValue, (0..<(64 * 3 * 4)).map { UInt8($0 % 251) }),
            ("blk.0.ffn_up_exps.weight", [32, 2, 4], GGMLType.q8_0.rawValue, (0..<(8 * 34)).map { UInt8($0 % 253) }),
            ("blk.0.attn_q.weight", [256, 2], GGMLType.q4_K.rawValue, (0..<(2 * 144)).map { UInt8($0 % 7) }),
        ]
        return w
    }

    @Test(arguments: [32, 64])
    func aWholeFileReadsBackExactly(alignment: Int) throws {
        let w = Self.sample(alignment: alignment)
        let f = try TestGGUF.parse(w.bytes())
        #expect(f.version == 3 && f.alignment == alignment && f.dataOffset % alignment == 0)
        #expect(f.keys == w.entries.map(\.0))
        for (k, v) in w.entries { #expect(f.metadata[k] == v, "\(k)") }
        #expect(f.architecture == "qwen3moe")
        #expect(f.tensors.map(\.name) == w.tensors.map(\.name))
        for t in w.tensors {
            let read = try #require(f.tensor(t.name))
            #expect(read.shape == t.shape)
            #expect(read.byteCount == t.data.count)
            #expect(Array(f.data(of: read)) == t.data, "\(t.name) data in place")
        }
        #expect(f.tensor("blk.0.attn_q.weight")?.type == .q4_K)
        #expect(f.tensor("blk.0.ffn_up_exps.weight")?.rowCount == 8)
    }

    @Test func aFileFromDiskIsMappedNotCopied() throws {
        let path = Scratch.directory.appendingPathComponent("mt-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(Self.sample().bytes()).write(to: URL(fileURLWithPath: path))
        let f = try GGUFFile(path: path)
        #expect(f.tensors.count == 3)
        #expect(throws: GGUFError.self) { _ = try GGUFFile(path: path + ".missing") }
    }

    @Test func notGGUFAndOtherVersionsAreNamed() {
        var bytes = Self.sample().bytes()
        bytes[0] = UInt8(ascii: "P")
        #expect(throws: GGUFError.badMagic(path: "test.gguf", found: "PGUF")) { _ = try TestGGUF.parse(bytes) }
        var old = Self.sample()
        old.version = 1
        #expect(throws: GGUFError.unsupportedVersion(path: "test.gguf", version: 1)) { _ = try TestGGUF.parse(old.bytes()) }
    }

    /// The 96-byte file of issue 11: one F64 tensor of 1073741823 x 1073741825 elements, whose
    /// byte count (8 x 2^60 - 8) overflows 64 bits. Also a fuzzer seed (tools/fuzz/seeds/gguf).
    static let impossiblyLarge: [UInt8] = {
        var w = TestGGUF()
        w.tensors = [("t", [1_073_741_823, 1_073_741_825], GGMLType.f64.rawValue, [])]
        return w.bytes()
    }()

    @Test func sizesThatOverflowAreAnErrorNamingTheTensor() throws {
        #expect(Self.impossiblyLarge.count == 96)
        #expect {
            _ = try TestGGUF.parse(Self.impossiblyLarge)
        } throws: { error in
            guard case let GGUFError.badTensor(_, tensor, reason) = error else { return false }
            return tensor == "t" && reason.contains("impossibly large")
        }
        // The same file on disk is the fuzzer's seed: it must stay byte for byte this one.
        let seed = try Data(contentsOf: ReferenceTools.repository.appendingPathComponent("tools/fuzz/seeds/gguf/overflowing-f64.gguf"))
        #expect(Array(seed) == Self.impossiblyLarge)
        // An offset near Int.max, and shapes whose product overflows, are the same error.
        var far = TestGGUF()
        far.tensors = [("u", [32], GGMLType.f32.rawValue, [UInt8](repeating: 0, count: 128))]
        far.offsetOverride = ["u": UInt64(Int.max) / 32 * 32]
        #expect(throws: GGUFError.self) { _ = try TestGGUF.parse(far.bytes()) }
        var wide = TestGGUF()
        wide.tensors = [("v", [1 << 32, 1 << 32, 4], GGMLType.f32.rawValue, [])]
        #expect(throws: GGUFError.self) { _ = try TestGGUF.parse(wide.bytes()) }
    }

    @Test func everyTruncationIsAnErrorNotACrash() throws {
        let bytes = Self.sample().bytes()
        let whole = try TestGGUF.parse(bytes)
        let dataEnd = whole.tensors.map { whole.dataOffset + $0.offset + $0.byteCount }.max()!
        var wrong: [Int] = []
        for n in 0..<bytes.count {
            let parsed = (try? TestGGUF.parse(Array(bytes[0..<n]))) != nil
            // Only the alignment padding after the last tensor's data may go.
            if parsed != (n >= dataEnd) { wrong.append(n) }
        }
        #expect(wrong.isEmpty, "prefixes read wrongly: \(wrong.prefix(10))")
    }

    @Test func badTensorsAreNamed() throws {
        func failure(_ change: (inout TestGGUF) -> Void) -> String {
            var w = Self.sample()
            change(&w)

            do { _ = try TestGGUF.parse(w.bytes()); return "parsed" } catch { return error.description }
        }
        #expect(failure { $0.tensors[1].type = 99 }.contains("'blk.0.ffn_up_exps.weight': has unknown type number 99"))
        #expect(failure { $0.tensors[2].shape = [100, 2] }.contains("not a whole number of Q4_K blocks"))
        #expect(failure { $0.offsetOverride["token_embd.weight"] = 8 }.contains("not a multiple of the alignment"))
        #expect(failure { $0.offsetOverride["blk.0.attn_q.weight"] = 1 << 20 }.contains("beyond the end of the file"))
        #expect(failure { $0.tensors[0].shape = [64, 3, 1, 1, 1] }.contains("has 5 dimensions"))
        #expect(failure { $0.tensors[1].name = "token_embd.weight" }.contains("appears twice"))
        #expect(failure { $0.entries.append(("general.architecture", .string("llama"))) }.contains("'general.architecture': appears twice"))
        #expect(failure { $0.entries[1].1 = .uint(48, bits: 32) }.contains("general.alignment"))
    }

    @Test func hugeCountsFailBeforeAnythingIsAllocated() {
        // A header that claims 2^60 tensors, or a string of 2^62 bytes, in a file of a few bytes.
        let manyTensors = Array("GGUF".utf8) + TestGGUF.le(UInt32(3)) + TestGGUF.le(UInt64(1) << 60) + TestGGUF.le(UInt64(0))
        #expect(throws: GGUFError.self) { _ = try TestGGUF.parse(manyTensors) }
        let longKey = Array("GGUF".utf8) + TestGGUF.le(UInt32(3)) + TestGGUF.le(UInt64(0)) + TestGGUF.le(UInt64(1))
            + TestGGUF.le(UInt64(1) << 62) + Array("abc".utf8)
        #expect(throws: GGUFError.self) { _ = try TestGGUF.parse(longKey) }
    }

    @Test func randomDamageNeverCrashes() {
        let clean = Self.sample().bytes()
        var rng = SystemRandomNumberGenerator()
        var parsed = 0
        for _ in 0..<3000 {
            var bytes = clean
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if (try? TestGGUF.parse(bytes)) != nil { parsed += 1 }
        }
        #expect(parsed < 3000, "damage to the header is noticed")
    }
}
