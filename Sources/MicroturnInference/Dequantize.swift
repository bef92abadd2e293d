/// Turns rows of any supported tensor type back into floats, block by block, the way ggml defines
/// each layout. This is the scalar reference every fast kernel is tested against.
public enum Dequantize {
    /// Decodes `count` elements (a whole number of blocks) from `source` into `out`.
    public static func row(_ source: UnsafeRawPointer, type: GGMLType, count: Int, into out: UnsafeMutablePointer<Float>) {
        let (size, bytes) = type.block
        precondition(count % size == 0, "\(count) elements are not whole \(type.name) blocks")
        for b in 0..<(count / size) {
            let block = source + b * bytes, y = out + b * size
            switch type {
            case .f32: y.pointee = block.loadUnaligned(as: Float.self)
            case .f16: y.pointee = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
            case .bf16: y.pointee = Float(bitPattern: UInt32(block.loadUnaligned(as: UInt16.self)) << 16)
            case .q8_0: q8_0(block, y)
            case .q4_0: q4_0(block, y)
            case .q4_1, .q5_0, .q5_1: small(block, type, y)
            case .q4_K: q4_K(block, y)
            case .q5_K: q5_K(block, y)
            case .q6_K: q6_K(block, y)
            default: preconditionFailure("\(type.name) is not a supported type; GGUFFile rejects it before this")
            }
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Q8_0: f16 scale, 32 signed bytes.
    static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b)
        let q = (b + 2).assumingMemoryBound(to: Int8.self)
        for i in 0..<32 { y[i] = d * Float(q[i]) }
    }

    /// Q4_0: f16 scale, 16 bytes of 4-bit values offset by 8; low nibbles are elements 0-15,
    /// high nibbles 16-31.
    static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b)
        let q = (b + 2).assumingMemoryBound(to: UInt8.self)
        for i in 0..<16 {
            y[i] = d * Float(Int(q[i] & 0xF) - 8)
            y[i + 16] = d * Float(Int(q[i] >> 4) - 8)
        }
    }

    /// Q4_1 (f16 d, f16 m, 16 bytes of nibbles), Q5_0 (f16 d, 32 high bits, nibbles; values offset
    /// by 16) and Q5_1 (f16 d, f16 m, high bits, nibbles): element i < 16 is the low nibble of byte
    /// i, element i + 16 its high nibble; bit i of the high bits is element i's fifth bit.
    /// x = d q + m (Q5_0: d (q - 16)).
    static func small(_ b: UnsafeRawPointer, _ type: GGMLType, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b), m: Float = type == .q5_0 ? -16 * d : half(b, 2)
        let qh: UInt32 = type == .q4_1 ? 0 : b.loadUnaligned(fromByteOffset: type == .q5_0 ? 2 : 4, as: UInt32.self)
        let q = (b + (type == .q4_1 ? 4 : type == .q5_0 ? 6 : 8)).assumingMemoryBound(to: UInt8.self)
        for i in 0..<16 {
            let lo = UInt32(q[i] & 0xF) | ((qh >> i) & 1) << 4, hi = UInt32(q[i] >> 4) | ((qh >> (i + 16)) & 1) << 4
            y[i] = type == .q5_0 ? d * Float(Int(lo) - 16) : d * Float(lo) + m
            y[i + 16] = type == .q5_0 ? d * Float(Int(hi) - 16) : d * Float(hi) + m
        }
    }

    /// The 6-bit scale and min of sub-block `j` (0-7) of a Q4_K/Q5_K block, packed in 12 bytes:
    /// sub-blocks 0-3 in the low 6 bits of bytes 0-3 and 4-7, sub-blocks 4-7 in the nibbles of
    /// bytes 8-11 with their top two bits in the spare bits of bytes 0-7.
    @inline(__always) static func scaleMin(_ j: Int, _ s: UnsafePointer<UInt8>) -> (scale: Float, min: Float) {
        if j < 4 { return (Float(s[j] & 63), Float(s[j + 4] & 63)) }
        return (Float((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4)), Float((s[j + 4] >> 4) | ((s[j] >> 6) << 4)))
    }

    /// Q4_K: f16 d, f16 dmin, 12 bytes of scales and mins, 128 bytes of 4-bit values; 8 sub-blocks
    /// of 32, each 64 elements sharing 32 bytes (low nibbles first, then high).
    static func q4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b), dmin = half(b, 2)
        let scales = (b + 4).assumingMemoryBound(to: UInt8.self)
        let q = (b + 16).assumingMemoryBound(to: UInt8.self)
        for pair in 0..<4 {
            let (s1, m1) = scaleMin(2 * pair, scales), (s2, m2) = scaleMin(2 * pair + 1, scales)
            let qs = q + 32 * pair, out = y + 64 * pair
            for l in 0..<32 {
                out[l] = d * s1 * Float(qs[l] & 0xF) - dmin * m1
                out[l + 32] = d * s2 * Float(qs[l] >> 4) - dmin * m2
            }
        }
    }

    /// Q5_K: as Q4_K, plus 32 bytes holding each element's fifth bit (bit 2k and 2k+1 of byte l
    /// belong to sub-blocks 2k and 2k+1).
    static func q5_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b), dmin = half(b, 2)
        let scales = (b + 4).assumingMemoryBound(to: UInt8.self)
        let qh = (b + 16).assumingMemoryBound(to: UInt8.self)
        let q = (b + 48).assumingMemoryBound(to: UInt8.self)
        for pair in 0..<4 {
            let (s1, m1) = scaleMin(2 * pair, scales), (s2, m2) = scaleMin(2 * pair + 1, scales)
            let qs = q + 32 * pair, out = y + 64 * pair
            let bit1 = UInt8(1) << (2 * pair), bit2 = UInt8(2) << (2 * pair)
            for l in 0..<32 {
                let lo = Int(qs[l] & 0xF) + (qh[l] & bit1 != 0 ? 16 : 0)
                let hi = Int(qs[l] >> 4) + (qh[l] & bit2 != 0 ? 16 : 0)
                out[l] = d * s1 * Float(lo) - dmin * m1
                out[l + 32] = d * s2 * Float(hi) - dmin * m2
            }
        }
    }

    /// Q6_K: 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 signed 8-bit scales (one per 16
    /// elements), f16 d at the end; values are offset by 32. Each half of 128 elements takes 64
    /// low bytes and 32 high bytes, in four runs of 32.
    static func q6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let ql0 = b.assumingMemoryBound(to: UInt8.self)
        let qh0 = (b + 128).assumingMemoryBound(to: UInt8.self)
        let sc0 = (b + 192).assumingMemoryBound(to: Int8.self)
        let d = half(b, 208)
        for half in 0..<2 {
            let ql = ql0 + 64 * half, qh = qh0 + 32 * half, sc = sc0 + 8 * half, out = y + 128 * half
            for l in 0..<32 {
                let s = l / 16
                let q1 = Int((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32
                let q2 = Int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32
                let q3 = Int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                let q4 = Int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                out[l] = d * Float(sc[s]) * Float(q1)
                out[l + 32] = d * Float(sc[s + 2]) * Float(q2)
                out[l + 64] = d * Float(sc[s + 4]) * Float(q3)
                out[l + 96] = d * Float(sc[s + 6]) * Float(q4)
            }
        }
    }
}
