import Foundation
import Testing

/// Real kernel drivers on the virtual board (tools/virtual-board: Debian's kernel in QEMU): the
/// V4L2 capture path against vivid, the kernel's virtual camera.
@Suite(.serialized) struct VirtualBoardTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func tool(_ script: String, _ arguments: [String], unplug: Bool = false) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        if unplug { p.environment = ProcessInfo.processInfo.environment.merging(["UNPLUG": "1"]) { $1 } }
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["bash", "tools/virtual-board/\(script)"] + arguments
        p.currentDirectoryURL = repository
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func theCameraStreamsFromVivid() throws {
        // The board carries the binary these tests were built with.
        let built = try Self.tool("build.sh", [CommandLineTests.binary])
        try #require(built.status == 0, "tools/virtual-board/build.sh: \(built.err)")
        let r = try Self.tool("run.sh", ["reps", "--camera", "vivid", "--frames", "60", "--json"])
        #expect(r.status == 0, "\(r.out) \(r.err)")
        // Found by driver name and negotiated (what the program said on stderr is on the board's
        // console, so in `out`); 60 frames at the driver's rate, nothing counted in a test
        // pattern; frames the driver dropped are counted (a debug build under emulation drops some).
        #expect(r.out.contains("camera /dev/video0: 640x480"), "\(r.out)")
        let summary = r.out.split(separator: "\n").last.map(String.init) ?? ""
        let json = try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any]
        #expect((60...62).contains(json?["frames"] as? Int ?? 0), "\(summary)")  // (counted on its own thread: one or two more)
        #expect(json?["total"] as? Int == 0 && (json?["dropped"] as? Int).map { $0 >= 0 } == true, "\(summary)")
        let fps = json?["fps"] as? Double ?? 0
        #expect(fps > 10 && fps < 40, "frame timestamps: \(fps) fps")
    }

    @Test func aCameraThatVanishesIsReopened() throws {
        let built = try Self.tool("build.sh", [CommandLineTests.binary])
        try #require(built.status == 0, "tools/virtual-board/build.sh: \(built.err)")
        // vivid is unbound 4 s in and bound again 3 s later; counting goes on for 14 s in all.
        let r = try Self.tool("run.sh", ["reps", "--camera", "vivid", "--duration", "14", "--json"], unplug: true)
        #expect(r.status == 0, "\(r.out) \(r.err)")
        #expect(r.out.contains("stopped") && r.out.contains("reopening"), "the loss is named: \(r.out)")
        let summary = r.out.split(separator: "\n").last.map(String.init) ?? ""
        let json = try JSONSerialization.jsonObject(with: Data(summary.utf8)) as? [String: Any]
        // It came back, and frames went on after it did (4 s before the loss give at most about 100).
        #expect(json?["reopened"] as? Int == 1, "\(summary)")
        #expect((json?["frames"] as? Int ?? 0) > 110, "\(summary)")
    }
}
