/// Tensor element types as ggml numbers them in GGUF files, with their block layouts: a row of
/// `n` elements takes `n / blockSize * blockBytes` bytes. The engine computes with the types in
/// `supported`; the others are known by name so a file that uses them gets a clear error.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30, tq1_0 = 34, tq2_0 = 35

    /// The types the engine's kernels handle.
    public static let supported: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// ggml's name: Q4_K, BF16, IQ2_XXS. (The case name, so this type must not be
    /// CustomStringConvertible: `String(describing:)` would call back into it.)
    public var name: String { String(describing: self).uppercased() }

    /// Elements per block and bytes per block.
    public var block: (size: Int, bytes: Int) {
        let qk = 256
        switch self {
        case .f32, .i32: return (1, 4)
        case .f16, .bf16, .i16: return (1, 2)
        case .i8: return (1, 1)
        case .i64, .f64: return (1, 8)
        case .q4_0: return (32, 2 + 16)
        case .q4_1: return (32, 2 + 2 + 16)
        case .q5_0: return (32, 2 + 4 + 16)
        case .q5_1: return (32, 2 + 2 + 4 + 16)
        case .q8_0: return (32, 2 + 32)
        case .q8_1: return (32, 4 + 4 + 32)
        case .q2_K: return (qk, 2 + 2 + qk / 16 + qk / 4)
        case .q3_K: return (qk, 2 + qk / 4 + qk / 8 + 12)
        case .q4_K: return (qk, 2 + 2 + qk / 2 + 12)
        case .q5_K: return (qk, 2 + 2 + qk / 2 + qk / 8 + 12)
        case .q6_K: return (qk, 2 + qk / 2 + qk / 4 + qk / 16)
        case .q8_K: return (qk, 4 + qk + qk / 8)
        case .iq2_xxs: return (qk, 2 + qk / 4)
        case .iq2_xs: return (qk, 2 + qk / 4 + qk / 32)
        case .iq3_xxs: return (qk, 2 + qk / 4 + qk / 8)
        case .iq1_s: return (qk, 2 + qk / 8 + qk / 16)
        case .iq4_nl: return (32, 2 + 16)
        case .iq3_s: return (qk, 2 + qk / 4 + qk / 8 + qk / 32 + 4)
        case .iq2_s: return (qk, 2 + qk / 4 + qk / 16)
        case .iq4_xs: return (qk, 2 + 2 + qk / 2 + qk / 64)
        case .iq1_m: return (qk, qk / 8 + qk / 16 + qk / 32)
        case .tq1_0: return (qk, 2 + 4 * 13)
        case .tq2_0: return (qk, 2 + 64)
        }
    }
}
