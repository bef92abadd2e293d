/// What is wrong with a camera or a video file, naming it, and what to do about it.
public enum VisionError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// A recording or a picture cannot be written (folder, permissions, disk full).
    case cannotWrite(path: String, reason: String)
    case badHeader(path: String, reason: String)
    /// A frame's marker line is not "FRAME..." where one should start.
    case badFrame(path: String, frame: Int, offset: Int, reason: String)
    /// The file ends inside a frame.
    case truncatedFrame(path: String, frame: Int, offset: Int, missing: Int)
    /// No camera answers to the name, or it cannot stream.
    case cameraUnavailable(device: String, reason: String)
    /// The camera stopped working while streaming (unplugged, driver error).
    case cameraLost(device: String, reason: String)
    /// No frame came for this long.
    case cameraStalled(device: String, seconds: Double)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            "\(path): cannot open the video file (\(reason))"
        case let .cannotWrite(path, reason):
            "\(path): cannot write it (\(reason))"
        case let .badHeader(path, reason):
            "\(path): not a usable YUV4MPEG2 (.y4m) stream: \(reason); write one with `ffmpeg -i IN -pix_fmt yuv420p OUT.y4m`"
        case let .badFrame(path, frame, offset, reason):
            "\(path): frame \(frame) at byte \(offset): \(reason); the stream is damaged"
        case let .truncatedFrame(path, frame, offset, missing):
            "\(path): frame \(frame) at byte \(offset) is cut short (\(missing) bytes missing); the frames before it were read"
        case let .cameraUnavailable(device, reason):
            "camera \(device): \(reason); check the cable, and name the camera by a /dev/v4l/by-id path or by the driver or card name `microturn camera list` shows"
        case let .cameraLost(device, reason):
            "camera \(device) stopped: \(reason); reopening"
        case let .cameraStalled(device, seconds):
            "camera \(device) sent no frame for \(String(format: "%.1f", seconds)) s; reopening"
        }
    }
}
