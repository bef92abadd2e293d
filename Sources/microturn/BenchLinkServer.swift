import Foundation
import MicroturnSimulation

/// A real `microturn-server` for the link's live benchmarks, from this build folder: a fleet CA
/// and enrolled devices made by its own `ca` commands, in a temporary folder removed at the end.
final class BenchServer {
    let root: String
    let process: ServerProcess
    let caDirectory: String

    var port: Int { process.port }

    init(tls: Bool, devices: [String]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-bench-link-\(UUID().uuidString)").path
        caDirectory = root + "/ca"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let binaries = URL(fileURLWithPath: ChildProcess.microturn).deletingLastPathComponent().path
        let server = binaries + "/microturn-server"
        if tls {
            try Self.check(ChildProcess.run(server, ["ca", "init", "--dir", caDirectory, "--days", "2", "--server-name", "localhost"]), "ca init")
            for d in devices {
                try Self.check(ChildProcess.run(server, ["ca", "enroll", "--dir", caDirectory, "--device-dir", root + "/" + d, "--device-id", d, "--days", "2"]), "ca enroll")
            }
        }
        let port = ServerProcess.freePort()
        process = ServerProcess(directory: binaries, arguments: ["serve", "--listen", "127.0.0.1:\(port)", "--state-dir", root + "/state", "--metrics", "", "--backend", "none"]
                                    + (tls ? ["--ca-dir", caDirectory] : ["--plaintext"]), port: port)
        try process.start(log: root + "/server.log")
    }

    func deviceDirectory(_ id: String) -> String { root + "/" + id }

    func stop() {
        process.stop(SIGTERM)
        try? FileManager.default.removeItem(atPath: root)
    }

    static func check(_ p: ChildProcess, _ what: String) throws {
        guard p.status == 0 else { throw UsageError(message: "microturn-server \(what) failed (exit \(p.status)); is microturn-server built beside microturn?") }
    }
}
