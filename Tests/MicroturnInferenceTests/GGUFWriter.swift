import Foundation
@testable import MicroturnInference

/// Writes GGUF bytes for tests, including the broken kinds a reader must refuse.
struct GGUFWriter {
    var version: UInt32 = 3
    var alignment = 32
    var entries: [(String, GGUFValue)] = []
    var tensors: [(name: String, shape: [Int], type: UInt32, data: [UInt8])] = []
    /// Overrides a tensor's stored offset (to test bad ones).
    var offsetOverride: [String: UInt64] = [:]

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func string(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

    static func kind(_ v: GGUFValue) -> UInt32 {
        switch v {
        case let .uint(_, bits): [8: 0, 16: 2, 32: 4, 64: 10][bits]!
        case let .int(_, bits): [8: 1, 16: 3, 32: 5, 64: 11][bits]!
        case let .float(_, bits): bits == 32 ? 6 : 12
        case .bool: 7
        case .string: 8
        case .array: 9
        }
    }

    static func payload(_ v: GGUFValue) -> [UInt8] {
        switch v {
        case let .uint(x, bits):
            switch bits { case 8: [UInt8(x)]; case 16: le(UInt16(x)); case 32: le(UInt32(x)); default: le(x) }
        case let .int(x, bits):
            switch bits { case 8: le(Int8(x)); case 16: le(Int16(x)); case 32: le(Int32(x)); default: le(x) }
        case let .float(x, bits): bits == 32 ? le(Float(x).bitPattern) : le(x.bitPattern)
        case let .bool(b): [b ? 1 : 0]
        case let .string(s): string(s)
        case let .array(a):
            le(a.first.map(kind) ?? 0) + le(UInt64(a.count)) + a.flatMap(payload)
        }
    }

    func bytes() -> [UInt8] {
        var out = Array("GGUF".utf8) + Self.le(version) + Self.le(UInt64(tensors.count)) + Self.le(UInt64(entries.count))
        for (k, v) in entries { out += Self.string(k) + Self.le(Self.kind(v)) + Self.payload(v) }
        var offsets: [UInt64] = []
        var next = 0
        for t in tensors {
            offsets.append(UInt64(next))
            next = (next + t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, offset) in zip(tensors, offsets) {
            out += Self.string(t.name) + Self.le(UInt32(t.shape.count)) + t.shape.flatMap { Self.le(UInt64($0)) }
            out += Self.le(t.type) + Self.le(offsetOverride[t.name] ?? offset)
        }
        while out.count % alignment != 0 { out.append(0) }
        let dataStart = out.count
        for (t, offset) in zip(tensors, offsets) {
            while out.count < dataStart + Int(offset) { out.append(0) }
            out += t.data
        }
        while out.count % alignment != 0 { out.append(0) }
        return out
    }

    /// Bytes that live as long as the file object that reads them in place.
    final class Owned {
        let memory: UnsafeMutableRawBufferPointer
        init(_ bytes: [UInt8]) {
            memory = .allocate(byteCount: max(1, bytes.count), alignment: 64)
            memory.copyBytes(from: bytes)
        }
        deinit { memory.deallocate() }
    }

    static func parse(_ bytes: [UInt8]) throws(GGUFError) -> GGUFFile {
        let owned = Owned(bytes)
        return try GGUFFile(bytes: UnsafeRawBufferPointer(rebasing: owned.memory[0..<bytes.count]), path: "test.gguf", keeping: owned)
    }
}
