import MicroturnCore
import Foundation
import MicroturnAudio
import MicroturnLink
import MicroturnServer
import MicroturnSimulation
import Testing
import TestSupport

/// The fault suite: real `microturn-server` and `microturn link ask` processes over TLS through a
/// chaos proxy that cuts and stalls connections, while a seeded plan kills the device process or
/// the server (SIGKILL, mid-task or not) and starts them again. Every request the device kept gets
/// exactly one answer: none lost, none twice.
@Suite(.serialized, .ownThreads) struct LinkFaultTests {
    static let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

    /// `microturn link ask` processes of one device, answers appended to one file.
    struct DeviceAsk {
        let config: String
        let port: Int
        let deviceId: String
        let directory: String
        let answers: String

        init(root: String, port: Int, deviceId: String, directory: String, answers: String) {
            config = root + "/empty.toml"  // nothing from /etc: the flags say it all
            FileManager.default.createFile(atPath: config, contents: Data())
            (self.port, self.deviceId, self.directory, self.answers) = (port, deviceId, directory, answers)
        }

        func start(_ extra: [String], timeout: Int) throws -> Process {
            let p = Process()
            p.executableURL = LinkFaultTests.binaries.appendingPathComponent("microturn")
            p.arguments = ["link", "ask", "--config", config, "--server", "localhost:\(port)", "--device-id", deviceId,
                           "--dir", directory, "--out", answers, "--timeout", "\(timeout)"] + extra
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
    }

    @Test func everyRequestIsAnsweredExactlyOnceThroughFaults() throws {
        let root = Scratch.directory.appendingPathComponent("faults-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ca = try FleetCA.create(directory: root + "/ca", name: "Fault CA", days: 30, serverNames: ["localhost"])
        let deviceDir = root + "/device"
        try ca.enroll(deviceDirectory: deviceDir, deviceId: "kiosk-f")
        // Real speech, so the server's tasks take real time (PocketSphinx) and a kill can land mid-task.
        let wav = root + "/request.wav"
        let speech = try FreshSpeech(voice: .init()).synthesize("please remind me to stretch after lunch today")
        try WavFile(sampleRate: 16_000, channels: 1, samples: speech).write(path: wav)

        let port = ServerProcess.freePort()
        let server = ServerProcess(directory: Self.binaries.path, arguments: ["serve", "--ca-dir", ca.directory, "--listen", "127.0.0.1:\(port)",
                                               "--state-dir", root + "/state", "--metrics", ""], port: port)
        try server.start()
        defer { server.stop() }
        let proxy = try ChaosProxy(target: port, seed: 12, odds: .init(cut: 0.02, stall: 0.004))
        defer { proxy.stop() }

        let answers = root + "/answers.jsonl"
        let device = DeviceAsk(root: root, port: proxy.port, deviceId: "kiosk-f", directory: deviceDir, answers: answers)
        func ask(_ extra: [String], timeout: Int) throws -> Process { try device.start(extra, timeout: timeout) }

        // Each round one request; every third round the device is killed, every third the server,
        // at a seeded moment within 1.5 s of the request.
        var plan = SplitMix64(seed: 2026)
        var deviceKills = 0, serverKills = 0
        for k in 0..<15 {
            let device = try ask(["--wav", wav, "--text", "request \(k)"], timeout: 30)
            let delay = useconds_t(Double.random(in: 0..<1, using: &plan) * 1_500_000)
            if k % 3 == 0 {
                usleep(delay)
                kill(device.processIdentifier, SIGKILL)
                deviceKills += 1
            } else if k % 3 == 1 {
                usleep(delay)
                server.stop()
                serverKills += 1
                usleep(300_000)
                try server.start()
            }
            device.waitUntilExit()
        }
        // The faults stop; what still waits goes now, to a device run that asks nothing new.
        proxy.stats.chaos.store(false, ordering: .relaxed)
        let last = try ask([], timeout: 120)
        last.waitUntilExit()
        #expect(last.terminationStatus == 0, "the last run still had requests waiting")

        let outbox = try LinkOutbox(path: deviceDir + "/outbox.sqlite")
        let requests = try outbox.taskIds()
        let lines = ((try? String(contentsOfFile: answers, encoding: .utf8)) ?? "").split(separator: "\n")
        let answered = lines.compactMap { line -> String? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["task"] as? String
        }
        print("fault suite: \(requests.count) requests kept, \(answered.count) answers; faults injected: \(deviceKills) device kills, \(serverKills) server kills, \(proxy.stats.cuts.load(ordering: .relaxed)) connection cuts, \(proxy.stats.stalls.load(ordering: .relaxed)) stalls")
        #expect(answered.count == lines.count, "every answer line names its task")
        #expect(Set(answered).count == answered.count, "an answer was handed on twice: \(answered)")
        #expect(Set(answered) == Set(requests), "lost: \(Set(requests).subtracting(answered)); unknown: \(Set(answered).subtracting(requests))")
        #expect(try outbox.depth() == 0)
        #expect(requests.count >= 15 - deviceKills, "each round that was not killed kept its request")
    }
}
