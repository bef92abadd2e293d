import Foundation
import MicroturnSimulation
import Testing
import TestSupport

/// `microturn diag` as a technician runs it: the microphone measured through real alsa-lib (a
/// virtual PCM reading a known signal), the link against our server on loopback, the real model,
/// the exit code of the worst finding, and the support bundle.
@Suite(.ownThreads) struct DiagTests {
    let scratch = ScratchFolder()
    static let model = CommandLineTests.repository.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    /// `microturn diag ARGS --json`, with HOME at the scratch folder (its .asoundrc defines the PCMs).
    func diag(_ args: [String]) throws -> (status: Int32, checks: [String: [String: Any]], report: [String: Any], err: String) {
        let r = try CommandLineTests.run(["diag", "--json"] + args, environment: ["HOME": scratch.path])
        let report = (try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]) ?? [:]
        var checks: [String: [String: Any]] = [:]
        for c in report["checks"] as? [[String: Any]] ?? [] { checks[c["name"] as? String ?? ""] = c }
        return (r.status, checks, report, r.err)
    }

    /// A microphone that hears `samples` (48 kHz mono S16), and a loudspeaker into nothing.
    func microphone(_ samples: [Double]) -> String {
        var raw = Data()
        for s in samples { withUnsafeBytes(of: Int16(max(-32768, min(32767, (s * 32768).rounded()))).littleEndian) { raw.append(contentsOf: $0) } }
        let input = "\(scratch.path)/mic.raw"
        FileManager.default.createFile(atPath: input, contents: raw)
        _ = scratch.file(".asoundrc", """
            pcm.diagmic { type file slave.pcm null file "/dev/null" infile "\(input)" format "raw" }
            pcm.diagspk { type file slave.pcm null file "/dev/null" format "raw" }
            """)
        return scratch.file("mic.toml", "[audio]\ncapture_device = \"diagmic\"\nplayback_device = \"diagspk\"\nchannels = 1\nformats = [\"S16_LE\"]\n")
    }

    static func sine(amplitude: Double, seconds: Double = 3) -> [Double] {
        (0..<Int(seconds * 48_000)).map { amplitude * sin(2 * Double.pi * 440 * Double($0) / 48_000) }
    }

    @Test func theMicrophonesLevelIsMeasuredAndJudged() throws {
        // A 440 Hz sine of amplitude 0.1: RMS 0.0707, -23.0 dBFS.
        let r = try diag(["--only", "audio", "--config", microphone(Self.sine(amplitude: 0.1))])
        let level = try #require(r.checks["audio.level"], "\(r.err)")
        #expect(level["status"] as? String == "pass")
        let rms = (level["numbers"] as? [String: Any])?["rms_dbfs"] as? Double ?? 0
        #expect(abs(rms - -23.01) < 0.05, "\(level)")
        #expect(r.checks["audio.capture"]?["status"] as? String == "pass")
        #expect(r.checks["audio.loop"]?["status"] as? String == "skipped")
        // The exit code is the worst finding's.
        let worst = r.report["status"] as? String
        #expect(r.status == (worst == "fail" ? 2 : worst == "warn" ? 1 : 0), "\(r.report)")

        let clipped = try diag(["--only", "audio", "--config", microphone(Self.sine(amplitude: 1.5))])
        #expect(clipped.checks["audio.level"]?["status"] as? String == "warn")
        #expect((clipped.checks["audio.level"]?["hint"] as? String ?? "").contains("lower the capture gain"))
        let silent = try diag(["--only", "audio", "--config", microphone([Double](repeating: 0, count: 144_000))])
        #expect((silent.checks["audio.level"]?["summary"] as? String ?? "").contains("digital silence"))
        #expect(silent.status >= 1)
    }

    @Test func theLinkTheModelAndTheBundle() throws {
        let port = ServerProcess.freePort()
        let server = ServerProcess(directory: URL(fileURLWithPath: CommandLineTests.binary).deletingLastPathComponent().path,
                                   arguments: ["serve", "--plaintext", "--listen", "127.0.0.1:\(port)", "--metrics", "", "--backend", "none",
                                               "--state-dir", "\(scratch.path)/state"], port: port)
        try server.start()
        defer { server.stop(SIGTERM) }
        let config = scratch.file("link.toml", "[link]\nserver = \"127.0.0.1:\(port)\"\nplaintext = true\ndevice_id = \"diag-test\"\ndirectory = \"\(scratch.path)/link\"\n")
        let bundle = "\(scratch.path)/support.tar.gz"
        let r = try diag(["--only", "link,model,system", "--config", config, "--model", Self.model, "--bundle", bundle])
        for name in ["link.resolve", "link.tcp", "link.session", "model.file", "model.load", "model.speed"] {
            #expect(r.checks[name]?["status"] as? String == "pass", "\(name): \(r.checks[name] ?? [:]) \(r.err)")
        }
        #expect(r.checks["link.certificate"]?["status"] as? String == "skipped")
        #expect((r.checks["link.session"]?["summary"] as? String ?? "").contains("microturn-server 0.15.0"))
        #expect((r.checks["model.file"]?["summary"] as? String ?? "").contains("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"))
        #expect(r.checks["audio.cards"] == nil, "--only leaves audio out")

        let listing = try VirtualBoardTests.run(["tar", "-tzf", bundle])
        for file in ["diag.json", "versions.txt", "config.toml", "journal.txt"] {
            #expect(listing.out.contains("microturn-diag/\(file)"), "\(listing)")
        }
        let unpacked = "\(scratch.path)/unpacked"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        _ = try VirtualBoardTests.run(["tar", "-xzf", bundle, "-C", unpacked])
        let versions = (try? String(contentsOfFile: "\(unpacked)/microturn-diag/versions.txt", encoding: .utf8)) ?? ""
        #expect(versions.hasPrefix("microturn 0.15.0"), "\(versions)")
        let saved = (try? String(contentsOfFile: "\(unpacked)/microturn-diag/config.toml", encoding: .utf8)) ?? ""
        #expect(saved.contains("server = \"127.0.0.1:\(port)\""), "\(saved)")

        // The server gone: the TCP check fails with what to do, and so does the run.
        server.stop(SIGTERM)
        let down = try diag(["--only", "link", "--config", config])
        #expect(down.checks["link.tcp"]?["status"] as? String == "fail")
        #expect((down.checks["link.tcp"]?["hint"] as? String ?? "").contains("microturn-server running"))
        #expect(down.status == 2)
    }

    @Test func aBadGroupIsAUsageError() throws {
        let r = try CommandLineTests.run(["diag", "--only", "audio,sound"])
        #expect(r.status == 64 && r.err.contains("audio,camera,link,model,system"), "\(r.err)")
    }
}
