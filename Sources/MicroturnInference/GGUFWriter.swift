import Foundation

/// Writes a GGUF v3 file the way GGUFFile reads one: metadata in the order given, tensor infos,
/// then each tensor's bytes at its aligned offset. Tensor bytes are asked for one tensor at a
/// time (a model is written without holding it all), and the file appears under its name only
/// once it is whole: it is written beside it and renamed, so a failure leaves no half file.
public struct GGUFWriter {
    public struct Tensor {
        public let name: String
        /// ggml order: `shape[0]` is the length of a row.
        public let shape: [Int]
        public let type: GGMLType
        /// Makes the tensor's bytes; must give exactly `byteCount` of them.
        public let bytes: () throws -> [UInt8]

        public init(name: String, shape: [Int], type: GGMLType, bytes: @escaping () throws -> [UInt8]) {
            self.name = name
            self.shape = shape
            self.type = type
            self.bytes = bytes
        }

        public var byteCount: Int { shape.reduce(1, *) / type.block.size * type.block.bytes }
    }

    public var metadata: [(key: String, value: GGUFValue)] = []
    public var tensors: [Tensor] = []
    public var alignment = 32

    public init() {}

    /// Sets `key`, in place if it is there already, else at the end.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.key == key }) { metadata[i].value = value } else { metadata.append((key, value)) }
    }

    /// Everything before the data section, padded to the alignment, and each tensor's offset.
    public func header() -> (bytes: [UInt8], offsets: [Int]) {
        var out = Array("GGUF".utf8) + GGUFValue.le(UInt32(3)) + GGUFValue.le(UInt64(tensors.count)) + GGUFValue.le(UInt64(metadata.count))
        for (k, v) in metadata { out += GGUFValue.encoded(k) + GGUFValue.le(v.kind.rawValue) + v.payload }
        var offsets: [Int] = [], next = 0
        for t in tensors {
            offsets.append(next)
            next = (next + t.byteCount + alignment - 1) / alignment * alignment
        }
        for (t, offset) in zip(tensors, offsets) {
            out += GGUFValue.encoded(t.name) + GGUFValue.le(UInt32(t.shape.count)) + t.shape.flatMap { GGUFValue.le(UInt64($0)) }
            out += GGUFValue.le(t.type.rawValue) + GGUFValue.le(UInt64(offset))
        }
        out += [UInt8](repeating: 0, count: (alignment - out.count % alignment) % alignment)
        return (out, offsets)
    }

    /// Writes the file at `path`; `progress(tensorsWritten, tensorCount)` after each tensor.
    public func write(to path: String, progress: (Int, Int) -> Void = { _, _ in }) throws {
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: partial])
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
            defer { try? handle.close() }
            let (head, offsets) = header()
            try handle.write(contentsOf: head)
            for (i, t) in tensors.enumerated() {
                let data = try t.bytes()
                precondition(data.count == t.byteCount, "tensor \(t.name): \(data.count) bytes made, its shape needs \(t.byteCount)")
                let end = i + 1 < offsets.count ? offsets[i + 1] : (offsets[i] + data.count + alignment - 1) / alignment * alignment
                try handle.write(contentsOf: data + [UInt8](repeating: 0, count: end - offsets[i] - data.count))
                progress(i + 1, tensors.count)
            }
            try handle.synchronize()
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }
}

extension GGUFValue {
    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    /// A GGUF string: u64 length, then the UTF-8 bytes.
    static func encoded(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

    /// The value type number this value is written with.
    var kind: Kind {
        switch self {
        case let .uint(_, bits): [8: .uint8, 16: .uint16, 32: .uint32][bits] ?? .uint64
        case let .int(_, bits): [8: .int8, 16: .int16, 32: .int32][bits] ?? .int64
        case let .float(_, bits): bits == 32 ? .float32 : .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// The value's bytes after its type number (an array: element type, count, elements).
    var payload: [UInt8] {
        switch self {
        case let .uint(x, bits):
            switch bits { case 8: [UInt8(truncatingIfNeeded: x)]; case 16: Self.le(UInt16(truncatingIfNeeded: x)); case 32: Self.le(UInt32(truncatingIfNeeded: x)); default: Self.le(x) }
        case let .int(x, bits):
            switch bits { case 8: Self.le(Int8(truncatingIfNeeded: x)); case 16: Self.le(Int16(truncatingIfNeeded: x)); case 32: Self.le(Int32(truncatingIfNeeded: x)); default: Self.le(x) }
        case let .float(x, bits): bits == 32 ? Self.le(Float(x).bitPattern) : Self.le(x.bitPattern)
        case let .bool(b): [b ? 1 : 0]
        case let .string(s): Self.encoded(s)
        case let .array(a): Self.le((a.first?.kind ?? .uint8).rawValue) + Self.le(UInt64(a.count)) + a.flatMap(\.payload)
        }
    }
}
