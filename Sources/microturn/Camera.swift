import ArgumentParser
import Foundation
import MicroturnVision

struct Camera: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The cameras there are.",
        subcommands: [CameraList.self])
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
