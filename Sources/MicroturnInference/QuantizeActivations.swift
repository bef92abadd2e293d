/// Activations quantized for the dot products, as llama.cpp does, so results match its: Q8_0 (32
/// values, one f16 scale) against the 32-element weight blocks, Q8_K (256 values, one f32 scale,
/// sums of each 16) against the K-quants.
public enum QuantizeActivations {
    /// Bytes of one Q8_K block: f32 d, 256 signed bytes, 16 int16 sums.
    public static let q8KBlockBytes = 4 + 256 + 32

    /// x (a multiple of 32 values) into Q8_0 blocks: d = max|x| / 127, q = round(x / d).
    public static func q8_0(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) {
        precondition(count % 32 == 0)
        for b in 0..<(count / 32) {
            let v = x + 32 * b, block = out + 34 * b
            var amax: Float = 0
            for i in 0..<32 { amax = max(amax, abs(v[i])) }
            let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
            block.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)
            let q = (block + 2).assumingMemoryBound(to: Int8.self)
            for i in 0..<32 { q[i] = Int8((v[i] * id).rounded(.toNearestOrAwayFromZero)) }
        }
    }

    /// x (a multiple of 256 values) into Q8_K blocks. The scale maps the value of largest
    /// magnitude to -127 (sign kept, as llama.cpp does), so the others round within [-128, 127].
    public static func q8_K(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) {
        precondition(count % 256 == 0)
        for b in 0..<(count / 256) {
            let v = x + 256 * b, block = out + q8KBlockBytes * b
            var amax: Float = 0, extreme: Float = 0
            for i in 0..<256 where abs(v[i]) > amax {
                amax = abs(v[i])
                extreme = v[i]
            }
            let q = (block + 4).assumingMemoryBound(to: Int8.self)
            let sums = (block + 260).assumingMemoryBound(to: Int16.self)
            guard amax != 0 else {
                block.storeBytes(of: Float(0), as: Float.self)
                for i in 0..<256 { q[i] = 0 }
                for j in 0..<16 { sums[j] = 0 }
                continue
            }
            let iscale = -127 / extreme
            for i in 0..<256 { q[i] = Int8(min(127, (iscale * v[i]).rounded(.toNearestOrEven))) }
            for j in 0..<16 {
                var s = 0
                for i in 0..<16 { s += Int(q[16 * j + i]) }
                sums[j] = Int16(s)
            }
            block.storeBytes(of: 1 / iscale, as: Float.self)
        }
    }
}
