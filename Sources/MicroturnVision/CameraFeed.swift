import Foundation

/// A camera that keeps going: it must open at first (a camera that is not there is a setup
/// error), and when it then vanishes or stalls it is reopened with backoff (half a second,
/// doubling to eight), never a crash. Frames are timed on one clock from the feed's start,
/// across reopenings.
public final class CameraFeed {
    public let name: String
    private let width: Int, height: Int, fps: Int
    private let onProblem: (VisionError) -> Void
    private var camera: V4L2Camera?
    private let start = ProcessInfo.processInfo.systemUptime
    private var offset = 0.0       // feed time of the current camera's first frame
    private var firstFrame = true
    private var index = 0
    private var backoff = 0.5
    /// Frames the driver dropped, over all reopenings.
    public private(set) var droppedFrames = 0
    /// Times the camera came back after it was lost.
    public private(set) var reopenings = 0

    public init(name: String, width: Int = 640, height: Int = 480, fps: Int = 30,
                onProblem: @escaping (VisionError) -> Void) throws(VisionError) {
        self.name = name
        self.width = width
        self.height = height
        self.fps = fps
        self.onProblem = onProblem
        camera = try V4L2Camera(name: name, width: width, height: height, fps: fps)
    }

    /// The opened camera's description, once open.
    public var description: String? { camera?.description }

    /// The opened camera's frame rate, once open.
    public var frameRate: Double? { camera?.frameRate }

    /// The next frame, or nil once `shouldStop` says so.
    public func next(shouldStop: () -> Bool) -> GreyFrame? {
        while !shouldStop() {
            if camera == nil {
                do {
                    camera = try V4L2Camera(name: name, width: width, height: height, fps: fps)
                    firstFrame = true
                    backoff = 0.5
                    reopenings += 1
                } catch {
                    if backoff >= 8 { onProblem(error) }  // said once the waits reach their longest, not every try
                    wait(shouldStop)
                    continue
                }
            }
            do {
                let dropped = camera!.droppedFrames
                let frame = try camera!.next().grey
                droppedFrames += camera!.droppedFrames - dropped
                if firstFrame {
                    offset = ProcessInfo.processInfo.systemUptime - start
                    firstFrame = false
                }
                defer { index += 1 }
                return GreyFrame(width: frame.width, height: frame.height, pixels: frame.pixels, timestamp: offset + frame.timestamp, index: index)
            } catch {
                onProblem(error)
                camera = nil
                wait(shouldStop)
            }
        }
        return nil
    }

    private func wait(_ shouldStop: () -> Bool) {
        let until = ProcessInfo.processInfo.systemUptime + backoff
        while ProcessInfo.processInfo.systemUptime < until && !shouldStop() { usleep(50_000) }
        backoff = min(8, backoff * 2)
    }
}
