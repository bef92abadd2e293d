import Foundation
import MicroturnLink
import MicroturnServer
import TestSupport

/// A fleet CA and provisioned devices in a temporary folder, made by the real commands' code.
struct TestFleet {
    let root: String
    let ca: FleetCA

    init(devices: [String], serverNames: [String] = ["localhost", "127.0.0.1"]) throws {
        root = Scratch.directory.appendingPathComponent("fleet-\(UUID().uuidString)").path
        ca = try FleetCA.create(directory: root + "/ca", name: "Test Fleet CA", days: 30, serverNames: serverNames)
        for d in devices { try ca.enroll(deviceDirectory: directory(d), deviceId: d, days: 30) }
    }

    func directory(_ device: String) -> String { root + "/" + device }
    func credentials(_ device: String) -> LinkTLS.Files { .device(in: directory(device)) }
    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
