import CMicroturnKernels

/// Dot products of one weight row with activations quantized the way llama.cpp pairs them
/// (`activation(for:)`): integer sums inside each block, scaled once per block. Scalar: the
/// reference that fast kernels must equal.
public enum VecDot {
    /// The form activations take against a weight type.
    public enum Activation: Sendable, Equatable {
        case f32, f16, bf16, q8_0, q8_1, q8_K

        /// Bytes of `count` activations in this form.
        public func bytes(_ count: Int) -> Int {
            switch self {
            case .f32: 4 * count
            case .f16, .bf16: 2 * count
            case .q8_0: count / 32 * 34
            case .q8_1: count / 32 * QuantizeActivations.q8_1BlockBytes
            case .q8_K: count / 256 * QuantizeActivations.q8KBlockBytes
            }
        }
    }

    public static func activation(for weight: GGMLType) -> Activation {
        switch weight {
        case .f16: .f16
        case .bf16: .bf16
        case .q8_0, .q4_0: .q8_0
        case .q4_1, .q5_0, .q5_1: .q8_1
        case .q4_K, .q5_K, .q6_K: .q8_K
        default: .f32
        }
    }

    /// Converts `count` floats into the form `activation(for: weight)`, through CMicroturnKernels'
    /// quantizers (equal to `prepareReference`, bit for bit).
    public static func prepare(_ x: UnsafePointer<Float>, count: Int, for weight: GGMLType, into out: UnsafeMutableRawPointer) {
        let n = Int32(count)
        switch activation(for: weight) {
        case .f32: out.copyMemory(from: x, byteCount: 4 * count)
        case .f16: mt_quantize_f16(x, n, out)
        case .bf16: mt_quantize_bf16(x, n, out)
        case .q8_0: mt_quantize_q8_0(x, n, out)
        case .q8_1: mt_quantize_q8_1(x, n, out)
        case .q8_K: mt_quantize_q8_K(x, n, out)
        }
    }

    /// The Swift reference of `prepare`: the definitions, as llama.cpp quantizes.
    public static func prepareReference(_ x: UnsafePointer<Float>, count: Int, for weight: GGMLType, into out: UnsafeMutableRawPointer) {
        switch activation(for: weight) {
        case .f32: out.copyMemory(from: x, byteCount: 4 * count)
        case .f16: for i in 0..<count { out.storeBytes(of: Float16(x[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16: for i in 0..<count { out.storeBytes(of: bf16(x[i]), toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0: QuantizeActivations.q8_0(x, count: count, into: out)
        case .q8_1: QuantizeActivations.q8_1(x, count: count, into: out)
        case .q8_K: QuantizeActivations.q8_K(x, count: count, into: out)
        }
    }

    /// Float to bfloat16, rounding to nearest even (NaN kept quiet), as ggml does.
    static func bf16(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if f.isNaN { return UInt16(u >> 16) | 64 }
        return UInt16((u + 0x7FFF + ((u >> 16) & 1)) >> 16)
    }

    /// `rows` rows of weights (`rowBytes` apart, `count` elements each) against prepared
    /// activations, one pointer per token: out[t * outputStride + r]. Through the C SIMD kernels
    /// (CMicroturnKernels' `mt_product`, each kernel equal to its scalar twin and to `scalarRow`),
    /// four tokens at a time where there are four. `kernel` is the ggml type number, or
    /// MT_TYPE_Q4_0X8 for Q4_0 repacked (`Matrix.weights(from:)` gives both).
    public static func product(_ w: UnsafeRawPointer, kernel: Int32, rowBytes: Int, rows: Int, activations: [UnsafeRawPointer?],
                               count: Int, into out: UnsafeMutablePointer<Float>, outputStride: Int) {
        let status = activations.withUnsafeBufferPointer { a in
            mt_product(kernel, w, rowBytes, Int32(rows), a.baseAddress!, Int32(a.count), Int32(count), out, outputStride)
        }
        precondition(status == 0, "kernel \(kernel) does not exist; TensorLookup refuses tensors without kernels")
    }

    /// Weight row `w` (`count` elements of `type`, as the file has them) dot prepared activations `a`.
    public static func row(_ w: UnsafeRawPointer, type: GGMLType, _ a: UnsafeRawPointer, count: Int) -> Float {
        var y: Float = 0
        product(w, kernel: Int32(type.rawValue), rowBytes: 0, rows: 1, activations: [a], count: count, into: &y, outputStride: 1)
        return y
    }

    /// The Swift scalar reference of `row`.
    public static func scalarRow(_ w: UnsafeRawPointer, type: GGMLType, _ a: UnsafeRawPointer, count: Int) -> Float {
        switch type {
        case .f32: return floats(count) { w.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) * a.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        case .f16: return floats(count) {
            Float(Float16(bitPattern: w.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))
                * Float(Float16(bitPattern: a.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))
        }
        case .bf16: return floats(count) {
            Float(bitPattern: UInt32(w.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16)
                * Float(bitPattern: UInt32(a.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16)
        }
        case .q8_0: return q8_0(w, a, count: count)
        case .q4_0:
            // One running sum, block after block (the order of the repacked kernels).
            var s: Float = 0
            for b in 0..<(count / 32) {
                let wb = w + 18 * b, ab = a + 34 * b
                var dot: Int32 = 0
                for i in 0..<16 {
                    let byte = (wb + 2).load(fromByteOffset: i, as: UInt8.self)
                    dot += (Int32(byte & 0xF) - 8) * Int32(ab.load(fromByteOffset: 2 + i, as: Int8.self))
                    dot += (Int32(byte >> 4) - 8) * Int32(ab.load(fromByteOffset: 18 + i, as: Int8.self))
                }
                s = s + Float(dot) * (Dequantize.half(wb) * Dequantize.half(ab))
            }
            return s
        case .q4_1, .q5_0, .q5_1: return small(w, type, a, count: count)
        case .q4_K: return kBlocks(w, a, count: count, bytes: 144, kind: 4)
        case .q5_K: return kBlocks(w, a, count: count, bytes: 176, kind: 5)
        case .q6_K: return q6K(w, a, count: count)
        default: preconditionFailure("\(type.name) is not a supported type; GGUFFile rejects it before this")
        }
    }

    /// Products of float elements in the kernels' order: eight running sums by index mod 8.
    @inline(__always) static func floats(_ count: Int, _ product: (Int) -> Float) -> Float {
        var s = [Float](repeating: 0, count: 8)
        for i in 0..<count { s[i % 8] = s[i % 8] + product(i) }
        return sum8(s)
    }

    static func sum8(_ s: [Float]) -> Float { ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) }

    /// Q8_0 against Q8_0 activations, in the kernels' float order (mt_kernels.h): eight running
    /// sums, sum l taking each block's integer dot of elements 4l..4l+3 times the two scales.
    static func q8_0(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, count: Int) -> Float {
        var s = [Float](repeating: 0, count: 8)
        for b in 0..<(count / 32) {
            let wb = w + 34 * b, ab = a + 34 * b
            let scale = Dequantize.half(wb) * Dequantize.half(ab)
            for l in 0..<8 {
                var p: Int32 = 0
                for i in (4 * l)..<(4 * l + 4) {
                    p += Int32((wb + 2).load(fromByteOffset: i, as: Int8.self)) * Int32(ab.load(fromByteOffset: 2 + i, as: Int8.self))
                }
                s[l] = s[l].addingProduct(Float(p), scale)
            }
        }
        return sum8(s)
    }

    /// Q4_1, Q5_0, Q5_1 against Q8_1, in the kernels' float order (mt_kernels.h): the unsigned
    /// values' dots of four with the activations times d * da in eight running sums, and m (Q5_0:
    /// d * -16) times the activations' block sum in one more.
    static func small(_ w: UnsafeRawPointer, _ type: GGMLType, _ a: UnsafeRawPointer, count: Int) -> Float {
        var s = [Float](repeating: 0, count: 8), o: Float = 0
        let bytes = type.block.bytes
        for b in 0..<(count / 32) {
            let wb = w + bytes * b, ab = a + QuantizeActivations.q8_1BlockBytes * b
            let qh: UInt32 = type == .q4_1 ? 0 : wb.loadUnaligned(fromByteOffset: type == .q5_0 ? 2 : 4, as: UInt32.self)
            let q = (wb + (type == .q4_1 ? 4 : type == .q5_0 ? 6 : 8)).assumingMemoryBound(to: UInt8.self)
            let dw = Dequantize.half(wb), scale = dw * Dequantize.half(ab)
            let m = type == .q5_0 ? dw * -16 : Dequantize.half(wb, 2)
            for l in 0..<8 {
                var p: Int32 = 0
                for i in (4 * l)..<(4 * l + 4) {
                    let u = Int32(i < 16 ? q[i] & 0xF : q[i - 16] >> 4) | Int32((qh >> UInt32(i)) & 1) << 4
                    p += u * Int32(ab.load(fromByteOffset: 8 + i, as: Int8.self))
                }
                s[l] = s[l].addingProduct(Float(p), scale)
            }
            o = o + m * ab.loadUnaligned(fromByteOffset: 4, as: Float.self)
        }
        return sum8(s) + o
    }

    /// Q4_K and Q5_K against Q8_K: per sub-block of 32, scale x (values . activations); the mins
    /// come off through the activations' sums of 16.
    static func kBlocks(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, count: Int, bytes: Int, kind: Int) -> Float {
        var s: Float = 0
        for b in 0..<(count / 256) {
            let wb = w + bytes * b, ab = a + QuantizeActivations.q8KBlockBytes * b
            let scales = (wb + 4).assumingMemoryBound(to: UInt8.self)
            let qh = (wb + 16).assumingMemoryBound(to: UInt8.self)
            let qs = (wb + (kind == 5 ? 48 : 16)).assumingMemoryBound(to: UInt8.self)
            let q8 = (ab + 4).assumingMemoryBound(to: Int8.self)
            let sums = (ab + 260).assumingMemoryBound(to: Int16.self)
            var isum: Int32 = 0, msum: Int32 = 0
            for j in 0..<8 {
                let (sc, m) = Dequantize.scaleMin(j, scales)
                let pair = j / 2, high = j % 2 == 1
                let bit = UInt8(1) << j
                var dot: Int32 = 0
                for l in 0..<32 {
                    let byte = qs[32 * pair + l]
                    var v = Int32(high ? byte >> 4 : byte & 0xF)
                    if kind == 5 && qh[l] & bit != 0 { v += 16 }
                    dot += v * Int32(q8[32 * j + l])
                }
                isum += Int32(sc) * dot
                msum += Int32(m) * (Int32(sums[2 * j]) + Int32(sums[2 * j + 1]))
            }
            let ad = ab.loadUnaligned(as: Float.self)
            s += Dequantize.half(wb) * ad * Float(isum) - Dequantize.half(wb, 2) * ad * Float(msum)
        }
        return s
    }

    /// Q6_K against Q8_K: 16 sub-blocks of 16, each with its signed scale.
    static func q6K(_ w: UnsafeRawPointer, _ a: UnsafeRawPointer, count: Int) -> Float {
        var s: Float = 0
        for b in 0..<(count / 256) {
            let wb = w + 210 * b, ab = a + QuantizeActivations.q8KBlockBytes * b
            let ql = wb.assumingMemoryBound(to: UInt8.self), qh = (wb + 128).assumingMemoryBound(to: UInt8.self)
            let sc = (wb + 192).assumingMemoryBound(to: Int8.self)
            let q8 = (ab + 4).assumingMemoryBound(to: Int8.self)
            var isum: Int32 = 0
            for half in 0..<2 {
                let l0 = ql + 64 * half, h0 = qh + 32 * half, s0 = sc + 8 * half, a0 = q8 + 128 * half
                // Sub-block k (16 values) of this half: runs of 32 at offsets 0, 32, 64, 96, two each.
                for k in 0..<8 {
                    let run = k / 2, first = 16 * (k % 2)
                    var dot: Int32 = 0
                    for l in first..<(first + 16) {
                        let low = run % 2 == 0 ? l0[l] : l0[l + 32]
                        let v = Int32((run < 2 ? low & 0xF : low >> 4) | (((h0[l] >> (2 * run)) & 3) << 4)) - 32
                        dot += v * Int32(a0[32 * run + l])
                    }
                    isum += Int32(s0[2 * run + k % 2]) * dot
                }
            }
            s += Dequantize.half(wb, 208) * ab.loadUnaligned(as: Float.self) * Float(isum)
        }
        return s
    }
}
