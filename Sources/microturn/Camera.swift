import ArgumentParser
import Foundation
import MicroturnVision

struct Camera: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The cameras there are, and what they see.",
        subcommands: [CameraList.self, CameraSnapshot.self])
}

struct CameraList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Lists the V4L2 devices (/dev/video*): driver, card, bus, and for capture devices the formats, sizes and frame rates they offer.",
        discussion: "A board profile names its camera by a stable path (/dev/v4l/by-id/...) or by the driver or card name shown here.")

    @Flag(help: "One JSON object per device, one per line.")
    var json = false

    func run() throws {
        let devices = V4L2Camera.list()
        if devices.isEmpty && !json { print("no video devices (/dev/video*)") }
        for d in devices {
            let modes = d.canCapture ? V4L2Camera.modes(d.path) : []
            let rate = { (m: V4L2Camera.Mode) in m.fps.map { String(format: "%g", $0) } }
            if json {
                let list = modes.map { m in
                    "{\"format\":\"\(m.format)\",\"width\":\(m.width),\"height\":\(m.height),\"fps\":\(rate(m) ?? "null")}"
                }
                print("{\"path\":\"\(d.path)\",\"driver\":\"\(d.driver)\",\"card\":\"\(d.card)\",\"bus\":\"\(d.bus)\",\"capture\":\(d.canCapture),\"modes\":[\(list.joined(separator: ","))]}")
            } else {
                print("\(d.path)  driver \(d.driver)  card \"\(d.card)\"  bus \(d.bus)\(d.canCapture ? "  (captures)" : "")")
                // One line per format and size, its frame rates together.
                var seen: [String] = []
                for m in modes where !seen.contains("\(m.format) \(m.width)x\(m.height)") {
                    let key = "\(m.format) \(m.width)x\(m.height)"
                    seen.append(key)
                    let rates = modes.filter { $0.format == m.format && $0.width == m.width && $0.height == m.height }.compactMap(rate)
                    print("    \(key)" + (rates.isEmpty ? "" : " at \(rates.joined(separator: ", ")) fps"))
                }
            }
        }
    }
}

struct CameraSnapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Takes one picture from a camera and writes it as an image file, to check what the camera sees.",
        discussion: """
        The picture comes through the same path the repetition counter uses (libv4l2, converting \
        whatever the camera sends): colour for a .ppm file, grey for a .pgm one; any image viewer \
        opens both. The first frames are skipped (--skip) while the camera settles its exposure. \
        It prints the camera's settings and the picture's mean level per channel: a mean near 0 \
        is a covered lens or a dark room.

        Example: microturn camera snapshot --camera vivid --out /tmp/look.ppm
        """)

    @Option(help: "A V4L2 camera: a device path (best /dev/v4l/by-id/...) or its driver or card name (`microturn camera list`). Default: the board profile's board.camera.")
    var camera: String?

    @OptionGroup var source: SettingsSource

    @Option(help: "The image file to write: NAME.ppm (colour) or NAME.pgm (grey).")
    var out: String

    @Option(help: "Picture width asked for (the camera may give the nearest it has).")
    var width = 640

    @Option(help: "Picture height asked for.")
    var height = 480

    @Option(help: "Frames to skip before the one kept.")
    var skip = 5

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if !(out.hasSuffix(".ppm") || out.hasSuffix(".pgm")) { throw ValidationError("--out must end in .ppm (colour) or .pgm (grey)") }
        if !(16...4096).contains(width) || !(16...4096).contains(height) { throw ValidationError("--width and --height must be 16-4096") }
        if !(0...300).contains(skip) { throw ValidationError("--skip must be 0-300") }
    }

    func run() throws {
        try withExitCodes {
            let name = try camera ?? source.load().board.camera
            guard !name.isEmpty else { throw UsageError(message: "no camera: give --camera, or set board.camera in the board profile") }
            let device = try V4L2Camera(name: name, width: width, height: height, colour: out.hasSuffix(".ppm"))
            var frame = try device.next()
            for _ in 0..<skip { frame = try device.next() }
            do { try frame.netpbm.write(to: URL(fileURLWithPath: out)) } catch {
                throw VisionError.cannotWrite(path: out, reason: "\(error.localizedDescription); check the folder exists and is writable")
            }
            // Mean level per channel, for "is it dark, is a colour missing".
            var sums = [Int](repeating: 0, count: frame.channels)
            for (i, v) in frame.pixels.enumerated() { sums[i % frame.channels] += Int(v) }
            let means = sums.map { Double($0) / Double(frame.width * frame.height) }
            let levels = means.map { String(format: "%.1f", $0) }
            if json {
                print("{\"file\":\"\(out)\",\"device\":\"\(device.device)\",\"width\":\(frame.width),\"height\":\(frame.height),\"format\":\"\(device.format)\",\"source_format\":\"\(device.sourceFormat)\",\"fps\":\(String(format: "%.1f", device.frameRate)),\"mean\":[\(levels.joined(separator: ","))],\"dropped\":\(device.droppedFrames)}")
            } else {
                print("wrote \(out): frame \(frame.index + 1) of \(device.description)")
                print("mean level \(frame.channels == 3 ? "R G B" : "grey") (0-255): \(levels.joined(separator: " "))")
            }
        }
    }
}
