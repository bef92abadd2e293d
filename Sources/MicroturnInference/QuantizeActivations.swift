/// Activations quantized for the dot products, as llama.cpp does, so results match its: Q8_0 (32
/// values, one f16 scale) against the 32-element weight blocks, Q8_1 (the same with the block's
/// sum) against those with a min, Q8_K (256 values, one f32 scale, sums of each 16) against the
/// K-quants.
public enum QuantizeActivations {
    /// Bytes of one Q8_K block: f32 d, 256 signed bytes, 16 int16 sums.
    public static let q8KBlockBytes = 4 + 256 + 32

    /// Bytes of one Q8_1 block: f16 d, two bytes of zero, f32 sum (d times the sum of the
    /// values), 32 signed bytes.
    public static let q8_1BlockBytes = 40

    /// One block of 32 values: d = max|x| / 127 stored as f16 at `d`, q = x * (127 / max|x|)
    /// rounded to nearest even at `q` (llama.cpp's x86 code); returns the sum of q.
    static func block(_ v: UnsafePointer<Float>, d: UnsafeMutableRawPointer, q: UnsafeMutablePointer<Int8>) -> Int {
        var amax: Float = 0
        for i in 0..<32 { amax = max(amax, abs(v[i])) }
        let id: Float = amax != 0 ? 127 / amax : 0
        d.storeBytes(of: Float16(amax / 127).bitPattern, as: UInt16.self)
        var sum = 0
        for i in 0..<32 {
            q[i] = Int8((v[i] * id).rounded(.toNearestOrEven))
            sum += Int(q[i])
        }
        return sum
    }

    /// x (a multiple of 32 values) into Q8_0 blocks.
    public static func q8_0(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) {
        precondition(count % 32 == 0)
        for b in 0..<(count / 32) {
            let blockStart = out + 34 * b
            _ = block(x + 32 * b, d: blockStart, q: (blockStart + 2).assumingMemoryBound(to: Int8.self))
        }
    }

    /// x (a multiple of 32 values) into Q8_1 blocks.
    public static func q8_1(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) {
        precondition(count % 32 == 0)
        for b in 0..<(count / 32) {
            let blockStart = out + q8_1BlockBytes * b
            let sum = block(x + 32 * b, d: blockStart, q: (blockStart + 8).assumingMemoryBound(to: Int8.self))
            blockStart.storeBytes(of: 0, toByteOffset: 2, as: UInt16.self)
            blockStart.storeBytes(of: Dequantize.half(blockStart) * Float(sum), toByteOffset: 4, as: Float.self)
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
