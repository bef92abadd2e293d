/// A GGUF model file (versions 2 and 3): metadata, tensor infos and the tensor data, used in
/// place from a read-only mapping (never copied). Everything the header says is checked against
/// the file before it is used, so a damaged or hostile file gives a `GGUFError` naming the key or
/// tensor, never a crash or a huge allocation.
/// (Unchecked Sendable: every stored property is a `let`, and `bytes` points into the read-only
/// mapping that `owner` keeps alive.)
public final class GGUFFile: @unchecked Sendable {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        /// ggml order: `shape[0]` is the length of a row (the innermost dimension).
        public let shape: [Int]
        public let type: GGMLType
        /// From the start of the data section.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { shape.reduce(1, *) }
        public var rowCount: Int { elementCount / shape[0] }
    }

    public let path: String
    public let version: UInt32
    /// Metadata keys in file order, and their values.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    public let tensors: [Tensor]
    public let alignment: Int
    /// Where the data section starts in the file.
    public let dataOffset: Int
    private let owner: AnyObject?
    private let bytes: UnsafeRawBufferPointer
    private let tensorIndex: [String: Int]

    public convenience init(path: String) throws(GGUFError) {
        let mapping = try MappedFile(path: path)
        try self.init(bytes: mapping.bytes, path: path, keeping: mapping)
    }

    /// Parses `bytes`, which must stay valid as long as this object (`keeping` holds their owner).
    public init(bytes: UnsafeRawBufferPointer, path: String, keeping owner: AnyObject? = nil) throws(GGUFError) {
        self.path = path
        self.bytes = bytes
        self.owner = owner
        var r = Reader(bytes: bytes, path: path)
        guard bytes.count >= 4 else { throw .truncated(path: path, reading: "the magic number", at: 0, fileSize: bytes.count) }
        let magic = Array(bytes[0..<4])
        guard magic == Array("GGUF".utf8) else {
            throw .badMagic(path: path, found: magic.map { (32...126).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined())
        }
        r.position = 4
        version = try r.read(UInt32.self, "the version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(path: path, version: version) }
        let tensorCount = try r.count("the tensor count", minimumBytesEach: 24)
        let keyCount = try r.count("the metadata count", minimumBytesEach: 12)

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for k in 0..<keyCount {
            let key = try r.string("the name of metadata entry \(k)")
            guard metadata[key] == nil else { throw .badMetadata(path: path, key: key, reason: "appears twice") }
            let kind = try r.read(UInt32.self, "the type of '\(key)'")
            metadata[key] = try r.value(kind: kind, key: key, depth: 0)
            keys.append(key)
        }
        self.keys = keys
        self.metadata = metadata

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard case let .uint(v, 32) = a, v > 0, v & (v - 1) == 0, v <= 1 << 20 else {
                throw .badMetadata(path: path, key: "general.alignment", reason: "must be a power of two (uint32), got \(a)")
            }
            alignment = Int(v)
        }
        self.alignment = alignment

        var infos: [(name: String, shape: [Int], type: GGMLType, offset: Int)] = []
        var index: [String: Int] = [:]
        for t in 0..<tensorCount {
            let name = try r.string("the name of tensor \(t)")
            guard index[name] == nil else { throw .badTensor(path: path, tensor: name, reason: "appears twice") }
            let dims = try r.read(UInt32.self, "the dimension count of '\(name)'")
            guard (1...4).contains(dims) else {
                throw .badTensor(path: path, tensor: name, reason: "has \(dims) dimensions (1 to 4 are possible)")
            }
            var shape: [Int] = []
            for _ in 0..<dims {
                let d = try r.read(UInt64.self, "the shape of '\(name)'")
                guard d >= 1, d <= UInt64(Int32.max) else {
                    throw .badTensor(path: path, tensor: name, reason: "has a dimension of \(d)")
                }
                shape.append(Int(d))
            }
            let rawType = try r.read(UInt32.self, "the type of '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw .badTensor(path: path, tensor: name, reason: "has unknown type number \(rawType); this file needs a newer engine")
            }
            let offset = try r.read(UInt64.self, "the data offset of '\(name)'")
            guard offset <= UInt64(Int.max / 2) else { throw .badTensor(path: path, tensor: name, reason: "has a data offset of \(offset)") }
            index[name] = infos.count
            infos.append((name, shape, type, Int(offset)))
        }
        let end = r.position
        dataOffset = (end + alignment - 1) / alignment * alignment

        var tensors: [Tensor] = []
        for info in infos {
            let (size, blockBytes) = info.type.block
            guard info.shape[0] % size == 0 else {
                throw .badTensor(path: path, tensor: info.name,
                                 reason: "rows of \(info.shape[0]) elements are not a whole number of \(info.type.name) blocks (\(size) each)")
            }
            guard info.offset % alignment == 0 else {
                throw .badTensor(path: path, tensor: info.name, reason: "data offset \(info.offset) is not a multiple of the alignment \(alignment)")
            }
            // Every size and offset the header gives is checked arithmetic: a hostile shape must
            // be an error naming the tensor, never an overflow trap.
            let tooLarge = GGUFError.badTensor(path: path, tensor: info.name,
                                               reason: "is impossibly large (shape \(info.shape) of \(info.type.name), in a file of \(bytes.count) bytes)")
            var elements = 1
            for d in info.shape {
                let (m, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw tooLarge }
                elements = m
            }
            let (byteCount, o1) = (elements / size).multipliedReportingOverflow(by: blockBytes)
            let (start, o2) = dataOffset.addingReportingOverflow(info.offset)
            let (end, o3) = start.addingReportingOverflow(byteCount)
            guard !o1, !o2, !o3 else { throw tooLarge }
            guard end <= bytes.count else {
                throw .badTensor(path: path, tensor: info.name,
                                 reason: "its data (bytes \(start)..<\(end)) lies beyond the end of the file (\(bytes.count) bytes); the file is cut short or damaged")
            }
            tensors.append(Tensor(name: info.name, shape: info.shape, type: info.type, offset: info.offset, byteCount: byteCount))
        }
        self.tensors = tensors
        tensorIndex = index
    }

    public var architecture: String? { metadata["general.architecture"]?.string }

    public func tensor(_ name: String) -> Tensor? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor's bytes, in place in the file.
    public func data(of tensor: Tensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[(dataOffset + tensor.offset)..<(dataOffset + tensor.offset + tensor.byteCount)])
    }

    /// Gives back the resident pages of a tensor whose bytes were copied elsewhere (repacked);
    /// nothing for a file not mapped from disk.
    public func release(_ tensor: Tensor) { release(data(of: tensor)) }

    /// The same for part of the file's bytes (one expert of a tensor).
    func release(_ range: UnsafeRawBufferPointer) { (owner as? MappedFile)?.release(range) }

    /// A metadata value the architecture needs.
    public func required(_ key: String) throws(GGUFError) -> GGUFValue {
        guard let v = metadata[key] else { throw .missingMetadata(path: path, key: key, architecture: architecture ?? "?") }
        return v
    }

    /// Reads little-endian values, checking every read against the end of the file.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var position = 0

        mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
            let n = MemoryLayout<T>.size
            guard position <= bytes.count - n else {
                throw .truncated(path: path, reading: what(), at: position, fileSize: bytes.count)
            }
            let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
            position += n
            return v
        }

        /// A 64-bit count of things that take at least `minimumBytesEach`: more than the rest of
        /// the file could hold is an error, before anything is allocated for them.
        mutating func count(_ what: @autoclosure () -> String, minimumBytesEach: Int) throws(GGUFError) -> Int {
            let at = position
            let n = try read(UInt64.self, what())
            guard n <= UInt64(max(0, bytes.count - position) / minimumBytesEach) else {
                throw .truncated(path: path, reading: "\(what()) (\(n))", at: at, fileSize: bytes.count)
            }
            return Int(n)
        }

        mutating func string(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
            let length = try count(what(), minimumBytesEach: 1)
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<position + length]), as: UTF8.self)
            position += length
            return s
        }

        mutating func value(kind raw: UInt32, key: String, depth: Int) throws(GGUFError) -> GGUFValue {
            guard let kind = GGUFValue.Kind(rawValue: raw) else {
                throw .badMetadata(path: path, key: key, reason: "has unknown value type \(raw)")
            }
            switch kind {
            case .uint8: return .uint(UInt64(try read(UInt8.self, "'\(key)'")), bits: 8)
            case .uint16: return .uint(UInt64(try read(UInt16.self, "'\(key)'")), bits: 16)
            case .uint32: return .uint(UInt64(try read(UInt32.self, "'\(key)'")), bits: 32)
            case .uint64: return .uint(try read(UInt64.self, "'\(key)'"), bits: 64)
            case .int8: return .int(Int64(try read(Int8.self, "'\(key)'")), bits: 8)
            case .int16: return .int(Int64(try read(Int16.self, "'\(key)'")), bits: 16)
            case .int32: return .int(Int64(try read(Int32.self, "'\(key)'")), bits: 32)
            case .int64: return .int(try read(Int64.self, "'\(key)'"), bits: 64)
            case .float32: return .float(Double(Float(bitPattern: try read(UInt32.self, "'\(key)'"))), bits: 32)
            case .float64: return .float(Double(bitPattern: try read(UInt64.self, "'\(key)'")), bits: 64)
            case .bool:
                let b = try read(UInt8.self, "'\(key)'")
                guard b <= 1 else { throw .badMetadata(path: path, key: key, reason: "a bool holds \(b)") }
                return .bool(b == 1)
            case .string: return .string(try string("'\(key)'"))
            case .array:
                guard depth < 4 else { throw .badMetadata(path: path, key: key, reason: "arrays nested more than 4 deep") }
                let elementKind = try read(UInt32.self, "the element type of '\(key)'")
                let minimum = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8][elementKind] ?? 1
                let n = try count("the length of '\(key)'", minimumBytesEach: minimum)
                var items: [GGUFValue] = []
                items.reserveCapacity(n)
                for _ in 0..<n { items.append(try value(kind: elementKind, key: key, depth: depth + 1)) }
                return .array(items)
            }
        }
    }
}
