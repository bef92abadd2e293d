import Foundation

/// A PCM WAV file: RIFF/WAVE with a `fmt ` chunk (PCM 8/16/24/32-bit or IEEE float 32/64-bit,
/// including WAVE_FORMAT_EXTENSIBLE) and a `data` chunk. Samples are held as Float in [-1, 1].
public struct WavFile: Sendable {
    public var sampleRate: Int
    public var channels: Int
    /// Interleaved samples.
    public var samples: [Float]
    /// What was wrong with the file but could be read past (a data chunk cut short), for the
    /// caller to report; nil when the file was whole.
    public var warning: String?

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

    /// Reads the file in place: the bytes once, then the samples once (no copies in between).
    /// A data chunk claiming more bytes than the file holds is decoded as far as it goes, and
    /// `warning` says so; so is a partial frame at the end.
    public static func parse(_ data: Data, path: String) throws(AudioError) -> WavFile {
        do {
            return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws(AudioError) -> WavFile in
                try parse(bytes, path: path)
            }
        } catch let e as AudioError { throw e } catch { throw .badWav(path: path, reason: "\(error)") }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws(AudioError) -> WavFile {
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        guard bytes.count >= 12, Array(bytes[0..<4]) == [0x52, 0x49, 0x46, 0x46], Array(bytes[8..<12]) == [0x57, 0x41, 0x56, 0x45] else {
            throw .badWav(path: path, reason: "no RIFF/WAVE header")
        }
        var offset = 12
        var format: Format?
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = u32(offset + 4)  // at most 2^32 - 1: no overflow in the sums below on 64 bits
            let body = offset + 8
            if id == "fmt " {
                guard size >= 16, body + 16 <= bytes.count else { throw .badWav(path: path, reason: "fmt chunk too short") }
                var tag = u16(body)
                if tag == 0xFFFE, size >= 26, body + 26 <= bytes.count { tag = u16(body + 24) }  // extensible: sub-format GUID
                format = Format(tag: tag, channels: u16(body + 2), rate: u32(body + 4), bits: u16(body + 14))
            } else if id == "data" {
                guard let f = format else { throw .badWav(path: path, reason: "data chunk before fmt chunk") }
                var warning: String?
                var end = body + size
                // A streaming writer may leave the size at 0 or 0xFFFFFFFF: take what is there.
                if size == 0 || size == 0xFFFF_FFFF {
                    end = bytes.count
                } else if end > bytes.count {
                    warning = "its data chunk claims \(size) bytes but the file holds \(bytes.count - body) after its start; the file is cut short, and what is there is used"
                    end = bytes.count
                }
                var wav = try decode(UnsafeRawBufferPointer(rebasing: bytes[body..<end]), format: f, path: path)
                if let w = wav.warning { warning = warning.map { $0 + "; " + w } ?? w }
                wav.warning = warning
                return wav
            }
            offset = body + size + (size & 1)
        }
        throw .badWav(path: path, reason: format == nil ? "no fmt chunk" : "no data chunk")
    }

    struct Format { var tag: Int, channels: Int, rate: Int, bits: Int }

    private static func decode(_ b: UnsafeRawBufferPointer, format f: Format, path: String) throws(AudioError) -> WavFile {
        guard (1...32).contains(f.channels) else { throw .badWav(path: path, reason: "\(f.channels) channels") }
        guard (1000...768_000).contains(f.rate) else { throw .badWav(path: path, reason: "sample rate \(f.rate) Hz") }
        let width: Int
        let sample: (Int) -> Float
        switch (f.tag, f.bits) {
        case (1, 8):
            width = 1
            sample = { (Float(b[$0]) - 128) / 128 }
        case (1, 16):
            width = 2
            sample = { Float(Int16(bitPattern: b.loadUnaligned(fromByteOffset: $0, as: UInt16.self).littleEndian)) / 32768 }
        case (1, 24):
            width = 3
            sample = { i in Float(Int32(bitPattern: UInt32(b[i]) << 8 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 24) >> 8) / 8_388_608 }
        case (1, 32):
            width = 4
            sample = { Float(Double(Int32(bitPattern: b.loadUnaligned(fromByteOffset: $0, as: UInt32.self).littleEndian)) / 2_147_483_648) }
        case (3, 32):
            width = 4
            sample = { Float(bitPattern: b.loadUnaligned(fromByteOffset: $0, as: UInt32.self).littleEndian) }
        case (3, 64):
            width = 8
            sample = { Float(Double(bitPattern: b.loadUnaligned(fromByteOffset: $0, as: UInt64.self).littleEndian)) }
        default:
            throw .badWav(path: path, reason: "unsupported encoding (format tag \(f.tag), \(f.bits) bits)")
        }
        let frameBytes = width * f.channels
        let frames = b.count / frameBytes
        // Out-of-range floats are clipped, NaN and infinities are silence.
        let samples = [Float](unsafeUninitializedCapacity: frames * f.channels) { out, n in
            for k in 0..<(frames * f.channels) {
                let v = sample(k * width)
                out[k] = v.isFinite ? max(-1, min(1, v)) : 0
            }
            n = frames * f.channels
        }
        var wav = WavFile(sampleRate: f.rate, channels: f.channels, samples: samples)
        if b.count % frameBytes != 0 { wav.warning = "the last \(b.count % frameBytes) bytes are less than a frame and were left out" }
        return wav
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
