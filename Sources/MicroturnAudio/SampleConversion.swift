/// Sample formats Microturn speaks with devices, and conversion to/from the internal Float mono.
public enum SampleFormat: String, Sendable, CaseIterable {
    case s16 = "S16_LE"
    case s32 = "S32_LE"
    case float = "FLOAT_LE"

    public var bytesPerSample: Int { self == .s16 ? 2 : 4 }
}

public enum SampleConversion {
    @inline(__always)
    public static func int16(_ x: Float) -> Int16 {
        let v = (x * 32768).rounded()
        return Int16(max(-32768, min(32767, v)))
    }

    /// Interleaved device samples -> mono Float (channels averaged).
    public static func toMono(_ raw: UnsafeRawPointer, frames: Int, channels: Int, format: SampleFormat,
                              into out: inout [Float]) {
        out.removeAll(keepingCapacity: true)
        let scale = 1 / Float(channels)
        for i in 0..<frames {
            var sum: Float = 0
            for c in 0..<channels {
                let k = i * channels + c
                switch format {
                case .s16: sum += Float(raw.loadUnaligned(fromByteOffset: k * 2, as: Int16.self)) / 32768
                case .s32: sum += Float(Double(raw.loadUnaligned(fromByteOffset: k * 4, as: Int32.self)) / 2_147_483_648)
                case .float: sum += raw.loadUnaligned(fromByteOffset: k * 4, as: Float.self)
                }
            }
            out.append(sum * scale)
        }
    }

    /// Mono Float -> interleaved device samples (the same sample on every channel).
    public static func fromMono(_ mono: UnsafeBufferPointer<Float>, channels: Int, format: SampleFormat,
                                into raw: UnsafeMutableRawPointer) {
        for i in 0..<mono.count {
            let x = max(-1, min(1, mono[i]))
            for c in 0..<channels {
                let k = i * channels + c
                switch format {
                case .s16: raw.storeBytes(of: int16(x), toByteOffset: k * 2, as: Int16.self)
                case .s32: raw.storeBytes(of: Int32(max(-2_147_483_648, min(2_147_483_647, Double(x) * 2_147_483_648))),
                                          toByteOffset: k * 4, as: Int32.self)
                case .float: raw.storeBytes(of: x, toByteOffset: k * 4, as: Float.self)
                }
            }
        }
    }
}
