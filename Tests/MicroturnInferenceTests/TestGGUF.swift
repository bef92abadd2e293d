import Foundation
@testable import MicroturnInference

/// GGUF bytes made in memory for tests, including the broken kinds a reader must refuse.
struct TestGGUF {
    var version: UInt32 = 3
    var alignment = 32
    var entries: [(String, GGUFValue)] = []
    var tensors: [(name: String, shape: [Int], type: UInt32, data: [UInt8])] = []
    /// Overrides a tensor's stored offset (to test bad ones).
    var offsetOverride: [String: UInt64] = [:]

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { GGUFValue.le(v) }
    static func string(_ s: String) -> [UInt8] { GGUFValue.encoded(s) }
    static func kind(_ v: GGUFValue) -> UInt32 { v.kind.rawValue }
    static func payload(_ v: GGUFValue) -> [UInt8] { v.payload }

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
