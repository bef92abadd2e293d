import Foundation
import MicroturnCore
import MicroturnVision

/// `microturn diag` on the camera: it opens, what it offers, and the frame rate it really gives.
enum DiagCamera {
    static func checks(config: MicroturnConfig, frames: Int) -> [DiagCheck] {
        let name = config.board.camera
        guard !name.isEmpty else {
            return [.skipped("camera", "no camera configured (board.camera)", hint: "set board.camera to a /dev/v4l/by-id/ path or a driver name (microturn camera list)")]
        }
        let camera: V4L2Camera
        do { camera = try V4L2Camera(name: name, width: 320, height: 240, fps: 30) } catch {
            let found = V4L2Camera.list().filter(\.canCapture).map { "\($0.path) (\($0.driver): \($0.card))" }
            return [.fail("camera.open", "\(name) does not open: \(error)",
                          hint: found.isEmpty ? "no capture device in /dev/video*: plug the camera in, check `dmesg | grep -i uvc`"
                                              : "capture devices here: \(found.joined(separator: "; ")); set board.camera to one of them")]
        }
        let modes = V4L2Camera.modes(camera.device)
        let formats = Array(Set(modes.map(\.format))).sorted()
        var out: [DiagCheck] = [.pass("camera.open", "\(camera.description); offers \(formats.joined(separator: ", "))\(modes.count >= 256 ? " in 256 or more modes" : " in \(modes.count) modes")",
                                      [("modes", Double(modes.count))])]
        var stamps: [Double] = []
        do {
            for _ in 0..<frames { stamps.append(try camera.next(timeout: 2).timestamp) }
        } catch {
            out.append(.fail("camera.rate", "stopped after \(stamps.count) of \(frames) frames: \(error)",
                             hint: "the camera stalls: try another USB port or cable, and check `dmesg` for uvcvideo errors"))
            return out
        }
        let span = (stamps.last ?? 0) - (stamps.first ?? 0)
        let fps = span > 0 ? Double(stamps.count - 1) / span : 0
        let figures: [(key: String, value: Double)] = [("frames", Double(stamps.count)), ("fps", fps), ("asked_fps", camera.frameRate),
                                                      ("dropped", Double(camera.droppedFrames))]
        let said = String(format: "%d frames at %.1f fps (it said %.1f), %d dropped", stamps.count, fps, camera.frameRate, camera.droppedFrames)
        if fps < camera.frameRate * 0.7 || camera.droppedFrames * 20 > frames {
            out.append(DiagCheck(name: "camera.rate", status: .warn, summary: said, numbers: figures,
                                 hint: "slower than asked: more light (cameras lengthen exposure in the dark), or a USB 2 port of its own"))
        } else {
            out.append(.pass("camera.rate", said, figures))
        }
        return out
    }
}
