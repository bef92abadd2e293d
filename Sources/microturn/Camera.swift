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
        abstract: "Lists the V4L2 devices (/dev/video*) with their driver, card and bus, and whether they capture.",
        discussion: "A board profile names its camera by a stable path (/dev/v4l/by-id/...) or by the driver or card name shown here.")

    @Flag(help: "One JSON object per device, one per line.")
    var json = false

    func run() throws {
        let devices = V4L2Camera.list()
        if devices.isEmpty && !json { print("no video devices (/dev/video*)") }
        for d in devices {
            if json {
                print("{\"path\":\"\(d.path)\",\"driver\":\"\(d.driver)\",\"card\":\"\(d.card)\",\"bus\":\"\(d.bus)\",\"capture\":\(d.canCapture)}")
            } else {
                print("\(d.path)  driver \(d.driver)  card \"\(d.card)\"  bus \(d.bus)\(d.canCapture ? "  (captures)" : "")")
            }
        }
    }
}
