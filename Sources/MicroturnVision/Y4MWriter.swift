import Foundation

/// Records grey frames as YUV4MPEG2 (mono, what Y4MReader and ffmpeg read), so a live camera's
/// picture can be looked at and counted again offline. The frame rate in the header is the
/// camera's; frames it dropped are simply not there.
public final class Y4MWriter {
    public let path: String
    private let handle: FileHandle
    private var size: (width: Int, height: Int)?
    private let fps: (numerator: Int, denominator: Int)

    /// Creates (or empties) `path`.
    public init(path: String, fps: (numerator: Int, denominator: Int)) throws(VisionError) {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw .cannotWrite(path: path, reason: "cannot create it; check the folder exists and is writable")
        }
        self.path = path
        handle = h
        self.fps = fps
    }

    deinit { try? handle.close() }

    /// Appends a frame (the header goes before the first; every frame must be the first's size).
    public func write(_ frame: GreyFrame) throws(VisionError) {
        var data = Data()
        if let size {
            guard size == (frame.width, frame.height) else {
                throw .cannotWrite(path: path, reason: "frame \(frame.index) is \(frame.width)x\(frame.height), the recording \(size.width)x\(size.height)")
            }
        } else {
            size = (frame.width, frame.height)
            data.append(Data("YUV4MPEG2 W\(frame.width) H\(frame.height) F\(fps.numerator):\(fps.denominator) Ip A1:1 Cmono\n".utf8))
        }
        data.append(Data("FRAME\n".utf8))
        data.append(contentsOf: frame.pixels)
        do { try handle.write(contentsOf: data) } catch {
            throw .cannotWrite(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
