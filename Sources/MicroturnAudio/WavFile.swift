import Foundation

/// A PCM WAV file: RIFF/WAVE with a `fmt ` chunk (PCM 8/16/24/32-bit or IEEE float 32/64-bit,
/// including WAVE_FORMAT_EXTENSIBLE) and a `data` chunk. Samples are held as Float in [-1, 1].
public struct WavFile: Sendable {
    public var sampleRate: Int
    public var channels: Int
    /// Interleaved samples.
    public var samples: [Float]

    public init(sampleRate: Int, channels: Int, samples: [Float]) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.samples = samples
    }

    public var frameCount: Int { channels == 0 ? 0 : samples.count / channels }
    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    public static func read(path: String) throws(AudioError) -> WavFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .fileIO(path: path, reason: "cannot read (\(error.localizedDescription))")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws(AudioError) -> WavFile {
        let bytes = [UInt8](data)
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        guard bytes.count >= 12, bytes[0..<4] == [0x52, 0x49, 0x46, 0x46], bytes[8..<12] == [0x57, 0x41, 0x56, 0x45] else {
            throw .badWav(path: path, reason: "no RIFF/WAVE header")
        }
        var offset = 12
        var format: (tag: Int, channels: Int, rate: Int, bits: Int)?
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = u32(offset + 4)
            let body = offset + 8
            if id == "fmt " {
                guard size >= 16, body + 16 <= bytes.count else { throw .badWav(path: path, reason: "fmt chunk too short") }
                var tag = u16(body)
                if tag == 0xFFFE, size >= 26, body + 26 <= bytes.count { tag = u16(body + 24) }  // extensible: sub-format GUID
                format = (tag, u16(body + 2), u32(body + 4), u16(body + 14))
            } else if id == "data" {
                guard let f = format else { throw .badWav(path: path, reason: "data chunk before fmt chunk") }
                // A streaming writer may leave the size at 0 or 0xFFFFFFFF: take what is there.
                let end = (size == 0 || size == 0xFFFF_FFFF || body + size > bytes.count) ? bytes.count : body + size
                return try decode(Array(bytes[body..<end]), format: f, path: path)
            }
            offset = body + size + (size & 1)
        }
        throw .badWav(path: path, reason: format == nil ? "no fmt chunk" : "no data chunk")
    }

    private static func decode(_ b: [UInt8], format f: (tag: Int, channels: Int, rate: Int, bits: Int),
                               path: String) throws(AudioError) -> WavFile {
        guard (1...32).contains(f.channels) else { throw .badWav(path: path, reason: "\(f.channels) channels") }
        guard (1000...768_000).contains(f.rate) else { throw .badWav(path: path, reason: "sample rate \(f.rate) Hz") }
        var out: [Float] = []
        switch (f.tag, f.bits) {
        case (1, 8):
            out = b.map { (Float($0) - 128) / 128 }
        case (1, 16):
            out.reserveCapacity(b.count / 2)
            for i in stride(from: 0, to: b.count - 1, by: 2) { out.append(Float(Int16(bitPattern: UInt16(b[i]) | UInt16(b[i + 1]) << 8)) / 32768) }
        case (1, 24):
            for i in stride(from: 0, to: b.count - 2, by: 3) {
                let v = Int32(bitPattern: UInt32(b[i]) << 8 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 24) >> 8
                out.append(Float(v) / 8_388_608)
            }
        case (1, 32):
            for i in stride(from: 0, to: b.count - 3, by: 4) {
                let v = Int32(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
                out.append(Float(Double(v) / 2_147_483_648))
            }
        case (3, 32):
            for i in stride(from: 0, to: b.count - 3, by: 4) {
                out.append(Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24))
            }
        case (3, 64):
            for i in stride(from: 0, to: b.count - 7, by: 8) {
                var bits: UInt64 = 0
                for k in 0..<8 { bits |= UInt64(b[i + k]) << (8 * k) }
                out.append(Float(Double(bitPattern: bits)))
            }
        default:
            throw .badWav(path: path, reason: "unsupported encoding (format tag \(f.tag), \(f.bits) bits)")
        }
        let whole = out.count - out.count % f.channels
        if whole != out.count { out.removeLast(out.count - whole) }
        return WavFile(sampleRate: f.rate, channels: f.channels, samples: out.map { $0.isFinite ? max(-1, min(1, $0)) : 0 })
    }

    /// 16-bit PCM WAV bytes.
    public func encoded() -> Data {
        var d = Data()
        func put32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func put16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        let dataBytes = samples.count * 2
        d.append(contentsOf: Array("RIFF".utf8)); put32(36 + dataBytes)
        d.append(contentsOf: Array("WAVEfmt ".utf8)); put32(16)
        put16(1); put16(channels); put32(sampleRate); put32(sampleRate * channels * 2); put16(channels * 2); put16(16)
        d.append(contentsOf: Array("data".utf8)); put32(dataBytes)
        var pcm = [Int16](repeating: 0, count: samples.count)
        for i in samples.indices { pcm[i] = SampleConversion.int16(samples[i]) }
        pcm.withUnsafeBytes { d.append(contentsOf: $0) }
        return d
    }

    /// Writes atomically (temporary file, then rename), so a crash never leaves half a file.
    public func write(path: String) throws(AudioError) {
        do { try encoded().write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .fileIO(path: path, reason: "cannot write (\(error.localizedDescription))")
        }
    }

    /// Mono mix at the file's own rate.
    public func mono() -> [Float] {
        guard channels > 1 else { return samples }
        var out = [Float](repeating: 0, count: frameCount)
        for i in 0..<frameCount {
            var s: Float = 0
            for c in 0..<channels { s += samples[i * channels + c] }
            out[i] = s / Float(channels)
        }
        return out
    }
}
