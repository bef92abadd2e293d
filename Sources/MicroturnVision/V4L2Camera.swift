import CMicroturnCamera
import Foundation

/// A V4L2 camera through libv4l2: grey or RGB frames of the size and rate asked for (or the
/// nearest the camera offers), timestamped by the driver (monotonic, seconds from the first
/// frame), with frames the driver dropped (gaps in the sequence numbers) or marked corrupt counted.
public final class V4L2Camera {
    /// What a device is, for `list()` and for finding a camera by name.
    public struct Identity: Sendable, Equatable {
        public let path: String
        public let driver: String
        public let card: String
        public let bus: String
        public let canCapture: Bool
    }

    public let device: String
    public let width: Int
    public let height: Int
    public let frameRate: Double
    /// Colour frames (RGB), or grey.
    public let colour: Bool
    /// The format libv4l2 delivers (YU12 for grey, RGB3 for colour) ...
    public let format: String
    /// ... converted from the camera's own (the same when the camera sends it as it is).
    public let sourceFormat: String
    /// Frames lost: never delivered (the driver dropped them) or delivered marked corrupt.
    public private(set) var droppedFrames = 0
    private var handle: OpaquePointer?
    private var first: Double?
    private var lastSequence: UInt32?
    private var index = 0

    /// Opens the camera `name`: a device path (best a stable /dev/v4l/by-id one), or a driver or
    /// card name (`vivid`, "HD Webcam") matched against the capture devices there are.
    public init(name: String, width: Int = 640, height: Int = 480, fps: Int = 30, colour: Bool = false) throws(VisionError) {
        let path = try Self.resolve(name)
        device = path
        self.colour = colour
        var camera: OpaquePointer?
        var message = [CChar](repeating: 0, count: 256)
        let r = mt_camera_open(path, Int32(width), Int32(height), Int32(fps), colour ? 1 : 0, &camera, &message, message.count)
        guard r == 0, let camera else {
            throw .cameraUnavailable(device: path, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        handle = camera
        var w: Int32 = 0, h: Int32 = 0, num: Int32 = 0, den: Int32 = 0
        var delivered = [CChar](repeating: 0, count: 5), source = [CChar](repeating: 0, count: 5)
        mt_camera_format(camera, &w, &h, &num, &den, &delivered, &source)
        self.width = Int(w)
        self.height = Int(h)
        frameRate = den > 0 ? Double(num) / Double(den) : Double(fps)
        format = String(decoding: delivered.prefix(4).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        sourceFormat = String(decoding: source.prefix(4).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Device, size, rate and formats, for logs: "/dev/video0: 640x480 at 25.0 fps (YUYV as YU12)".
    public var description: String {
        "\(device): \(width)x\(height) at \(String(format: "%.1f", frameRate)) fps (\(sourceFormat == format ? format : "\(sourceFormat) as \(format)"))"
    }

    deinit { mt_camera_close(handle) }

    /// The next frame; waits at most `timeout` seconds for one (corrupt ones are skipped).
    public func next(timeout: Double = 2) throws(VisionError) -> CameraFrame {
        guard let handle else { throw .cameraLost(device: device, reason: "closed") }
        let channels = colour ? 3 : 1
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let deadline = ProcessInfo.processInfo.systemUptime + timeout
        while true {
            var timestamp = 0.0
            var sequence: UInt32 = 0
            let wait = max(0, deadline - ProcessInfo.processInfo.systemUptime)
            let r = pixels.withUnsafeMutableBufferPointer { mt_camera_read(handle, $0.baseAddress, Int32(wait * 1000), &timestamp, &sequence) }
            if r == 0 { throw .cameraStalled(device: device, seconds: timeout) }
            if r < 0 { throw .cameraLost(device: device, reason: String(cString: strerror(-r))) }
            countGap(to: sequence)
            if r == 2 {
                droppedFrames += 1
                continue
            }
            let start = first ?? timestamp
            first = start
            defer { index += 1 }
            return CameraFrame(width: width, height: height, channels: channels, pixels: pixels, timestamp: timestamp - start, index: index)
        }
    }

    /// Frames between the last sequence number and this one never came. (Wrapping arithmetic:
    /// the 32-bit numbers wrap around on a long run; a step back is a restart, not a loss.)
    private func countGap(to sequence: UInt32) {
        if let last = lastSequence {
            let gap = sequence &- last &- 1
            if gap < 1 << 31 { droppedFrames += Int(gap) }
        }
        lastSequence = sequence
    }

    /// The capture devices there are (/dev/video*), with what they say they are.
    public static func list() -> [Identity] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
        return names.filter { $0.hasPrefix("video") }.sorted { $0.count == $1.count ? $0 < $1 : $0.count < $1.count }.compactMap { name in
            let path = "/dev/" + name
            var id = mt_camera_identity()
            guard mt_camera_identify(path, &id) == 0 else { return nil }
            func text<T>(_ tuple: T) -> String {
                withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            }
            return Identity(path: path, driver: text(id.driver), card: text(id.card), bus: text(id.bus), canCapture: id.can_capture != 0)
        }
    }

    /// One way a camera can stream (its own format, before libv4l2 converts).
    public struct Mode: Sendable, Equatable {
        public let format: String
        public let width: Int
        public let height: Int
        /// Frames per second (nil: the camera does not say).
        public let fps: Double?
    }

    /// The formats, frame sizes and frame rates the device at `path` offers.
    public static func modes(_ path: String) -> [Mode] {
        var raw = [mt_camera_mode](repeating: mt_camera_mode(), count: 256)
        let n = Int(mt_camera_modes(path, &raw, Int32(raw.count)))
        return raw.prefix(max(0, n)).map { m in
            let format = withUnsafeBytes(of: m.fourcc) { String(decoding: $0.prefix(4).prefix { $0 != 0 }, as: UTF8.self) }
            return Mode(format: format, width: Int(m.width), height: Int(m.height),
                        fps: m.fps_denominator > 0 ? Double(m.fps_numerator) / Double(m.fps_denominator) : nil)
        }
    }

    /// A path as it is; a name: the first capture device whose driver or card it is.
    static func resolve(_ name: String) throws(VisionError) -> String {
        if name.hasPrefix("/") {
            guard FileManager.default.fileExists(atPath: name) else { throw .cameraUnavailable(device: name, reason: "no such device") }
            return name
        }
        let devices = list()
        if let match = devices.first(where: { $0.canCapture && ($0.driver == name || $0.card == name) }) { return match.path }
        let seen = devices.map { "\($0.path) (\($0.driver), \($0.card))" }.joined(separator: ", ")
        throw .cameraUnavailable(device: name, reason: devices.isEmpty ? "no video devices at all" : "no capture device by that driver or card name among \(seen)")
    }
}
