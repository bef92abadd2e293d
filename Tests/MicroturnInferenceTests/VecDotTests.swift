import Foundation
import CMicroturnKernels
@testable import MicroturnInference
import Testing
import TestSupport

/// The block dot products against the plain definition: decode both sides to floats and sum in
/// double precision. They must agree to float rounding, for every supported weight type.
@Suite(.ownThreads) struct VecDotTests {
    /// A deterministic generator (xorshift) for random blocks and activations.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        mutating func normal() -> Float {
            let u1 = max(Double(next() % 1_000_000) / 1_000_000, 1e-9), u2 = Double(next() % 1_000_000) / 1_000_000
            return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
        }
    }

    /// Random bytes are a valid block once its f16 scales are finite.
    static func randomRow(_ type: GGMLType, count: Int, _ rng: inout Random) -> [UInt8] {
        let (size, bytes) = type.block
        var row = (0..<(count / size * bytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let scaleOffsets: [Int] = switch type {
        case .q8_0, .q4_0, .q5_0: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q6_K: [208]
        default: []
        }
        func put(_ h: UInt16, at i: Int) { row[i] = UInt8(h & 0xFF); row[i + 1] = UInt8(h >> 8) }
        for b in 0..<(count / size) {
            for o in scaleOffsets { put(Float16(rng.normal() * 0.01).bitPattern, at: b * bytes + o) }
        }
        switch type {
        case .f32: return (0..<count).flatMap { _ in withUnsafeBytes(of: rng.normal()) { Array($0) } }
        case .f16: for i in 0..<count { put(Float16(rng.normal()).bitPattern, at: 2 * i) }
        case .bf16: for i in 0..<count { put(VecDot.bf16(rng.normal()), at: 2 * i) }
        default: break
        }
        return row
    }

    /// Decodes prepared activations back to floats.
    static func decode(_ a: [UInt8], _ kind: VecDot.Activation, count: Int) -> [Float] {
        a.withUnsafeBytes { p in
            (0..<count).map { i in
                switch kind {
                case .f32: p.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
                case .f16: Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .bf16: Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                case .q8_0:
                    Dequantize.half(p.baseAddress! + 34 * (i / 32)) * Float(Int8(bitPattern: p[34 * (i / 32) + 2 + i % 32]))
                case .q8_1:
                    Dequantize.half(p.baseAddress! + 40 * (i / 32)) * Float(Int8(bitPattern: p[40 * (i / 32) + 8 + i % 32]))
                case .q8_K:
                    p.loadUnaligned(fromByteOffset: 292 * (i / 256), as: Float.self) * Float(Int8(bitPattern: p[292 * (i / 256) + 4 + i % 256]))
                }
            }
        }
    }

    @Test(arguments: [GGMLType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K])
    func blockDotsEqualTheDefinition(type: GGMLType) {
        var rng = Random(state: 0x9E37_79B9_7F4A_7C15 ^ UInt64(type.rawValue))
        let count = 1024
        for _ in 0..<20 {
            let w = Self.randomRow(type, count: count, &rng)
            let x = (0..<count).map { _ in rng.normal() }
            let kind = VecDot.activation(for: type)
            var a = [UInt8](repeating: 0, count: kind.bytes(count))
            x.withUnsafeBufferPointer { xp in a.withUnsafeMutableBytes { VecDot.prepare(xp.baseAddress!, count: count, for: type, into: $0.baseAddress!) } }
            let ours = w.withUnsafeBytes { wp in a.withUnsafeBytes { VecDot.row(wp.baseAddress!, type: type, $0.baseAddress!, count: count) } }
            let scalar = w.withUnsafeBytes { wp in a.withUnsafeBytes { VecDot.scalarRow(wp.baseAddress!, type: type, $0.baseAddress!, count: count) } }
            #expect(ours == scalar, "\(type.name): the fast kernel equals the Swift scalar reference exactly")
            var weights = [Float](repeating: 0, count: count)
            w.withUnsafeBytes { wp in weights.withUnsafeMutableBufferPointer { Dequantize.row(wp.baseAddress!, type: type, count: count, into: $0.baseAddress!) } }
            let acts = Self.decode(a, kind, count: count)
            var exact = 0.0, scale = 0.0
            for i in 0..<count {
                exact += Double(weights[i]) * Double(acts[i])
                scale += abs(Double(weights[i]) * Double(acts[i]))
            }
            #expect(abs(Double(ours) - exact) <= 2e-6 * scale + 1e-9, "\(type.name): \(ours) vs \(exact)")
            // Quantizing the activations loses at most half a step per value, plus, for Q8_0, what
            // storing the scale as f16 costs (127 steps x 2^-11).
            if kind == .q8_0 || kind == .q8_1 || kind == .q8_K {
                let step = Double(x.map { abs($0) }.max()!) / 127
                let worst = zip(x, acts).map { abs(Double($0) - Double($1)) }.max()!
                #expect(worst <= step * (0.5 + (kind == .q8_K ? 1e-3 : 127.0 / 2048)))
            }
            // Q8_1 carries each block's sum: d times the sum of its values.
            if kind == .q8_1 {
                a.withUnsafeBytes { p in
                    for b in 0..<(count / 32) {
                        let values = (0..<32).reduce(0) { $0 + Int(Int8(bitPattern: p[40 * b + 8 + $1])) }
                        #expect(p.loadUnaligned(fromByteOffset: 40 * b + 4, as: Float.self) == Dequantize.half(p.baseAddress! + 40 * b) * Float(values))
                    }
                }
            }
        }
    }

    /// The C kernels of `type`: the one this CPU runs and its scalar twin.
    static func kernels(_ type: GGMLType) -> (fast: (UnsafeRawPointer?, UnsafeRawPointer?, Int32) -> Float,
                                              twin: (UnsafeRawPointer?, UnsafeRawPointer?, Int32) -> Float) {
        switch type {
        case .f32: (mt_dot_f32, mt_dot_f32_scalar)
        case .f16: (mt_dot_f16, mt_dot_f16_scalar)
        case .bf16: (mt_dot_bf16, mt_dot_bf16_scalar)
        case .q8_0: (mt_dot_q8_0, mt_dot_q8_0_scalar)
        case .q4_K: (mt_dot_q4_K, mt_dot_q4_K_scalar)
        case .q5_K: (mt_dot_q5_K, mt_dot_q5_K_scalar)
        case .q4_1: (mt_dot_q4_1, mt_dot_q4_1_scalar)
        case .q5_0: (mt_dot_q5_0, mt_dot_q5_0_scalar)
        case .q5_1: (mt_dot_q5_1, mt_dot_q5_1_scalar)
        default: (mt_dot_q6_K, mt_dot_q6_K_scalar)
        }
    }

    @Test(arguments: [GGMLType.f32, .f16, .bf16, .q8_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K])
    func simdKernelsEqualTheirScalarTwinsOnRandomBlocks(type: GGMLType) {
        var rng = Random(state: 77 ^ UInt64(type.rawValue))
        let (fast, twin) = Self.kernels(type)
        let kind = VecDot.activation(for: type)
        // (Float rows may end in a tail shorter than a vector.)
        for count in [256, 512, 4096] + (type.block.size == 1 ? [3, 1029] : []) {
            for trial in 0..<50 {
                // Weights: every byte pattern (-128 included). Activations: quantized from floats
                // with heavy tails and some exact zeros, so every value in -127...127 comes up.
                let w = Self.randomRow(type, count: count, &rng)
                let x = (0..<count).map { i in trial % 5 == 0 && i % 7 == 0 ? 0 : rng.normal() * (rng.next() % 16 == 0 ? 40 : 1) }
                var a = [UInt8](repeating: 0, count: kind.bytes(count))
                x.withUnsafeBufferPointer { xp in a.withUnsafeMutableBytes { VecDot.prepare(xp.baseAddress!, count: count, for: type, into: $0.baseAddress!) } }
                // Three more activation rows for the four-row kernel (the first is `a`).
                let more = (0..<3).map { r in
                    let y = (0..<count).map { _ in rng.normal() * Float(r + 1) }
                    var b = [UInt8](repeating: 0, count: kind.bytes(count))
                    y.withUnsafeBufferPointer { yp in b.withUnsafeMutableBytes { VecDot.prepare(yp.baseAddress!, count: count, for: type, into: $0.baseAddress!) } }
                    return b
                }
                let rows = [a] + more
                let singles = rows.map { r in w.withUnsafeBytes { wp in r.withUnsafeBytes { twin(wp.baseAddress!, $0.baseAddress!, Int32(count)) } } }
                var four = [Float](repeating: .nan, count: 4)
                w.withUnsafeBytes { wp in
                    rows[0].withUnsafeBytes { a0 in rows[1].withUnsafeBytes { a1 in rows[2].withUnsafeBytes { a2 in rows[3].withUnsafeBytes { a3 in
                        four.withUnsafeMutableBufferPointer {
                            VecDot.product(wp.baseAddress!, kernel: Int32(type.rawValue), rowBytes: w.count, rows: 1,
                                           activations: [a0.baseAddress!, a1.baseAddress!, a2.baseAddress!, a3.baseAddress!],
                                           count: count, into: $0.baseAddress!, outputStride: 1)
                        }
                    } } } }
                }
                #expect(four == singles, "\(type.name), \(count) values: four rows at once")
                w.withUnsafeBytes { wp in
                    a.withUnsafeBytes { ap in
                        let f = fast(wp.baseAddress!, ap.baseAddress!, Int32(count))
                        #expect(f == twin(wp.baseAddress!, ap.baseAddress!, Int32(count)), "\(type.name), \(count) values")
                        #expect(f == VecDot.scalarRow(wp.baseAddress!, type: type, ap.baseAddress!, count: count), "\(type.name), \(count) values")
                    }
                }
            }
        }
        #expect(String(cString: mt_kernels_variant()).hasPrefix("avx2"), "this machine has AVX2: the fast path was the one tested")
    }

    /// Q4_0's and Q4_K's SIMD kernels read rows repacked eight together: 13 random rows (a partial
    /// last group) through the repacking and `mt_product`, against the Swift scalar reference on the
    /// rows as the file has them, for one to seven tokens.
    @Test(arguments: [GGMLType.q4_0, .q4_K])
    func repackedRowsEqualTheScalarReference(type: GGMLType) throws {
        var rng = Random(state: 404 ^ UInt64(type.rawValue))
        let rows = 13, count = 1024, rowBytes = count / type.block.size * type.block.bytes
        let kind = VecDot.activation(for: type), actBytes = kind.bytes(count)
        let (kernel, _) = try #require(Matrix.repacking(type, cols: count))
        for trial in 0..<5 {
            let w = (0..<rows).flatMap { _ in Self.randomRow(type, count: count, &rng) }
            let size = type == .q4_0 ? mt_q4_0x8_bytes(Int32(rows), Int32(count)) : mt_q4_Kx8_bytes(Int32(rows), Int32(count))
            var packed = [UInt8](repeating: 0xAA, count: size)
            w.withUnsafeBytes { wp in
                packed.withUnsafeMutableBytes {
                    if type == .q4_0 { mt_repack_q4_0x8(wp.baseAddress!, rowBytes, Int32(rows), Int32(count), $0.baseAddress!) }
                    else { mt_repack_q4_Kx8(wp.baseAddress!, rowBytes, Int32(rows), Int32(count), $0.baseAddress!) }
                }
            }
            let tokens = 1 + trial
            var acts = [UInt8](repeating: 0, count: tokens * actBytes)
            for t in 0..<tokens {
                let x = (0..<count).map { _ in rng.normal() * Float(t + 1) }
                x.withUnsafeBufferPointer { xp in acts.withUnsafeMutableBytes { VecDot.prepare(xp.baseAddress!, count: count, for: type, into: $0.baseAddress! + t * actBytes) } }
            }
            var out = [Float](repeating: .nan, count: tokens * 16)
            w.withUnsafeBytes { wp in
                packed.withUnsafeBytes { pp in
                    acts.withUnsafeBytes { ap in
                        out.withUnsafeMutableBufferPointer {
                            VecDot.product(pp.baseAddress!, kernel: kernel, rowBytes: 0, rows: rows,
                                           activations: (0..<tokens).map { ap.baseAddress! + $0 * actBytes }, count: count,
                                           into: $0.baseAddress!, outputStride: 16)
                        }
                        for t in 0..<tokens {
                            for r in 0..<16 {
                                if r < rows {
                                    let expected = VecDot.scalarRow(wp.baseAddress! + r * rowBytes, type: type, ap.baseAddress! + t * actBytes, count: count)
                                    #expect(out[t * 16 + r] == expected, "\(type.name): row \(r), token \(t) of \(tokens)")
                                } else {
                                    #expect(out[t * 16 + r].isNaN, "\(type.name): no row \(r), nothing written")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A product over several rows and tokens (four at a time, then a tail) fills every output with
    /// the scalar reference's value, at its stride, and nothing else.
    @Test(arguments: [GGMLType.q8_0, .q4_1, .q5_0, .q4_K, .q6_K, .f16])
    func productsFillEveryRowAndToken(type: GGMLType) {
        var rng = Random(state: 5 ^ UInt64(type.rawValue))
        let count = 512, rows = 3, tokens = 7, stride = 5
        let rowBytes = count / type.block.size * type.block.bytes
        let w = (0..<rows).flatMap { _ in Self.randomRow(type, count: count, &rng) }
        let kind = VecDot.activation(for: type)
        let actBytes = kind.bytes(count)
        var acts = [UInt8](repeating: 0, count: tokens * actBytes)
        for t in 0..<tokens {
            let x = (0..<count).map { _ in rng.normal() }
            x.withUnsafeBufferPointer { xp in acts.withUnsafeMutableBytes { VecDot.prepare(xp.baseAddress!, count: count, for: type, into: $0.baseAddress! + t * actBytes) } }
        }
        var out = [Float](repeating: .nan, count: tokens * stride)
        w.withUnsafeBytes { wp in
            acts.withUnsafeBytes { ap in
                let a = ap.baseAddress!
                out.withUnsafeMutableBufferPointer {
                    VecDot.product(wp.baseAddress!, kernel: Int32(type.rawValue), rowBytes: rowBytes, rows: rows, activations: (0..<tokens).map { a + $0 * actBytes },
                                   count: count, into: $0.baseAddress!, outputStride: stride)
                }
                for t in 0..<tokens {
                    for r in 0..<stride {
                        if r < rows {
                            let expected = VecDot.scalarRow(wp.baseAddress! + r * rowBytes, type: type, a + t * actBytes, count: count)
                            #expect(out[t * stride + r] == expected, "\(type.name): row \(r), token \(t)")
                        } else {
                            #expect(out[t * stride + r].isNaN, "\(type.name): column \(r) past the rows is left alone")
                        }
                    }
                }
            }
        }
    }

    /// The C kernels outside Swift (tools/kernels-test.c): natively, every x86 variant this CPU has
    /// and mt_product's row tiles; then the NEON variants (with and without the dot product
    /// extension), cross-compiled for aarch64 and run under qemu-user. All equal their scalar twins.
    @Test func kernelsEqualTheirScalarTwinsNativelyAndUnderQemu() throws {
        let r = try ReferenceTools.tool(["tools/test-kernels.sh"], stdout: true, interpreter: "bash")
        #expect(r.status == 0, "tools/test-kernels.sh: \(r.err)\n\(r.out)")
        #expect(r.out.contains("chosen variant: avx2"), "natively: \(r.out)")
        #expect(r.out.contains("chosen variant: neon-dotprod") && r.out.contains("chosen variant: neon\n"), "\(r.out)")
        #expect(r.out.components(separatedBy: "all equal").count == 4, "native and both emulated CPUs: \(r.out)")
    }

    /// The C quantizers equal the Swift reference bit for bit: ordinary values, ties, zeros, huge
    /// and tiny ones (f16 subnormals and overflow), a single large value among small ones.
    @Test(arguments: [GGMLType.f16, .bf16, .q8_0, .q4_1, .q4_K])
    func quantizersEqualTheReference(weight: GGMLType) {
        var rng = Random(state: 99 ^ UInt64(weight.rawValue))
        let kind = VecDot.activation(for: weight), count = 1024
        for trial in 0..<40 {
            var x = (0..<count).map { _ in rng.normal() * [1, 1e-3, 40, 7e4, 1e-6][trial % 5] }
            if trial % 7 == 0 { for i in stride(from: 0, to: count, by: 3) { x[i] = 0 } }
            if trial % 11 == 0 { x[5] = 1e5; x[300] = -Float(Float16.greatestFiniteMagnitude) }
            // Ties: with 127 the largest, the Q8 scales are 1 and -1 and every k + 0.5 is halfway;
            // 1 + odd multiples of 2^-11 are halfway between f16 values.
            if trial == 1 { x = (0..<count).map { $0 % 256 == 0 ? 127 : Float($0 % 254) - 126.5 } }
            if trial == 3 { x = (0..<count).map { 1 + Float(2 * ($0 % 512) + 1) / 2048 } }
            if trial == 2 { x = [Float](repeating: 0, count: count) }
            var ours = [UInt8](repeating: 0, count: kind.bytes(count)), reference = ours
            x.withUnsafeBufferPointer { xp in
                ours.withUnsafeMutableBytes { VecDot.prepare(xp.baseAddress!, count: count, for: weight, into: $0.baseAddress!) }
                reference.withUnsafeMutableBytes { VecDot.prepareReference(xp.baseAddress!, count: count, for: weight, into: $0.baseAddress!) }
            }
            let first = ours.indices.first { ours[$0] != reference[$0] }
            #expect(first == nil, "\(weight.name) activations, trial \(trial): first difference at byte \(first ?? -1)")
        }
    }

    @Test func q8KSumsAreTheSumsOfItsValues() {
        var rng = Random(state: 42)
        let x = (0..<512).map { _ in rng.normal() * 3 }
        var a = [UInt8](repeating: 0, count: VecDot.Activation.q8_K.bytes(512))
        x.withUnsafeBufferPointer { xp in a.withUnsafeMutableBytes { QuantizeActivations.q8_K(xp.baseAddress!, count: 512, into: $0.baseAddress!) } }
        a.withUnsafeBytes { p in
            for b in 0..<2 {
                for j in 0..<16 {
                    let sum = (0..<16).reduce(0) { $0 + Int(Int8(bitPattern: p[292 * b + 4 + 16 * j + $1])) }
                    #expect(Int(p.loadUnaligned(fromByteOffset: 292 * b + 260 + 2 * j, as: Int16.self)) == sum)
                }
            }
        }
        // All zeros: a zero scale, not a division by zero.
        let zeros = [Float](repeating: 0, count: 256)
        var z = [UInt8](repeating: 1, count: 292)
        zeros.withUnsafeBufferPointer { xp in z.withUnsafeMutableBytes { QuantizeActivations.q8_K(xp.baseAddress!, count: 256, into: $0.baseAddress!) } }
        #expect(z.allSatisfy { $0 == 0 })
    }
}
