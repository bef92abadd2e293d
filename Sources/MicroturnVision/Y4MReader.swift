import Foundation

/// A file camera: YUV4MPEG2 (.y4m, what `ffmpeg -f yuv4mpegpipe` writes), frames delivered as grey
/// (the luma plane), with timestamps from the stream's frame rate. 8-bit streams: 4:2:0 (every
/// siting), 4:2:2, 4:4:4, 4:4:4 with alpha, and mono.
public final class Y4MReader {
    public let path: String
    public let width: Int
    public let height: Int
    /// Frames per second as the header gives it (numerator, denominator).
    public let frameRate: (numerator: Int, denominator: Int)
    /// The colour space tag ("420jpeg" when the header has none).
    public let colourSpace: String
    /// Bytes after each frame's luma plane (its chroma and alpha planes), skipped.
    let chromaBytes: Int

    private let handle: FileHandle
    private var offset: Int
    private var framesRead = 0

    public init(path: String) throws(VisionError) {
        self.path = path
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw .cannotOpen(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        handle = h
        guard let raw = Self.readLine(h, limit: 4096), raw.starts(with: Array("YUV4MPEG2".utf8)) else {
            throw .badHeader(path: path, reason: "it does not start with \"YUV4MPEG2 \"")
        }
        // Counted in bytes: an X comment may hold any bytes, which decoding would change the count of.
        offset = raw.count + 1
        let line = String(decoding: raw, as: UTF8.self)
        var w: Int?, hgt: Int?, rate = (30, 1), space = "420jpeg"
        for field in line.split(separator: " ").dropFirst() {
            let value = field.dropFirst()
            switch field.first {
            case "W": w = Int(value)
            case "H": hgt = Int(value)
            case "F":
                let parts = value.split(separator: ":").compactMap { Int($0) }
                guard parts.count == 2, parts[0] > 0, parts[1] > 0 else {
                    throw .badHeader(path: path, reason: "frame rate '\(field)' is not F<num>:<den> with both positive")
                }
                rate = (parts[0], parts[1])
            case "C": space = String(value)
            default: break  // interlacing, aspect ratio, X extensions: not needed for grey frames
            }
        }
        guard let w, let hgt, w > 0, hgt > 0, w <= 16384, hgt <= 16384 else {
            throw .badHeader(path: path, reason: "width and height must be given (W and H) and be 1-16384")
        }
        let (cw, ch) = ((w + 1) / 2, (hgt + 1) / 2)  // at most 8192 each: no overflow below
        let chroma: Int
        switch space {
        case "420", "420jpeg", "420paldv", "420mpeg2": chroma = 2 * cw * ch
        case "422": chroma = 2 * cw * hgt
        case "444": chroma = 2 * w * hgt
        case "444alpha": chroma = 3 * w * hgt
        case "mono": chroma = 0
        default:
            throw .badHeader(path: path, reason: "colour space C\(space) is not supported (8-bit 420, 422, 444, 444alpha, mono are)")
        }
        guard w * hgt + chroma <= Self.maxFrameBytes else {
            throw .badHeader(path: path, reason: "a \(w)x\(hgt) C\(space) frame takes \(w * hgt + chroma) bytes, more than the \(Self.maxFrameBytes >> 20) MiB a frame may (8K 4:2:0 fits)")
        }
        width = w
        height = hgt
        frameRate = (rate.0, rate.1)
        colourSpace = space
        chromaBytes = chroma
    }

    /// The largest frame read (luma and chroma): 64 MiB, refused from the header before any
    /// allocation, so a hostile W and H cannot take a board's memory.
    public static let maxFrameBytes = 64 << 20

    deinit { try? handle.close() }

    /// The next frame, or nil at the end of the stream.
    public func next() throws(VisionError) -> GreyFrame? {
        let start = offset
        guard let marker = Self.readLine(handle, limit: 1024) else {
            // End of file exactly between frames, or a marker line cut short.
            if (try? handle.offset()) == UInt64(offset) { return nil }
            throw .truncatedFrame(path: path, frame: framesRead, offset: start, missing: width * height + chromaBytes)
        }
        guard marker.starts(with: Array("FRAME".utf8)) else {
            throw .badFrame(path: path, frame: framesRead, offset: start,
                            reason: "expected \"FRAME\", found \"\(String(decoding: marker.prefix(16), as: UTF8.self))\"")
        }
        offset += marker.count + 1
        let luma = width * height
        let data = (try? handle.read(upToCount: luma + chromaBytes)) ?? Data()
        guard data.count == luma + chromaBytes else {
            throw .truncatedFrame(path: path, frame: framesRead, offset: start, missing: luma + chromaBytes - data.count)
        }
        offset += data.count
        let frame = GreyFrame(width: width, height: height, pixels: [UInt8](data.prefix(luma)),
                              timestamp: Double(framesRead) * Double(frameRate.denominator) / Double(frameRate.numerator),
                              index: framesRead)
        framesRead += 1
        return frame
    }

    /// A line up to "\n" (not included), at most `limit` bytes; nil at end of file or when
    /// no newline comes within the limit.
    static func readLine(_ h: FileHandle, limit: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        while bytes.count < limit {
            guard let d = try? h.read(upToCount: 1), let b = d.first else { return nil }
            if b == 0x0A { return bytes }
            bytes.append(b)
        }
        return nil
    }
}
