/// One metadata value of a GGUF file.
public indirect enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint(UInt64, bits: Int)
    case int(Int64, bits: Int)
    case float(Double, bits: Int)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// GGUF's value type numbers.
    enum Kind: UInt32 {
        case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
        case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12
    }

    /// An integer value of any width (nil for other types or one that does not fit).
    public var integer: Int? {
        switch self {
        case let .uint(v, _): v <= UInt64(Int.max) ? Int(v) : nil
        case let .int(v, _): Int(v)
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case let .float(v, _): v
        case let .uint(v, _): Double(v)
        case let .int(v, _): Double(v)
        default: nil
        }
    }

    public var string: String? { if case let .string(s) = self { s } else { nil } }
    public var array: [GGUFValue]? { if case let .array(a) = self { a } else { nil } }

    public var description: String {
        switch self {
        case let .uint(v, _): "\(v)"
        case let .int(v, _): "\(v)"
        case let .float(v, _): "\(v)"
        case let .bool(v): "\(v)"
        case let .string(s): "\"\(s)\""
        case let .array(a):
            a.count <= 8 ? "[" + a.map(\.description).joined(separator: ", ") + "]"
                : "[" + a.prefix(4).map(\.description).joined(separator: ", ") + ", ... (\(a.count) values)]"
        }
    }
}
