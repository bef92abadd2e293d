import Foundation
import Glibc
import MicroturnAudio
import MicroturnService
import MicroturnSimulation
import Testing
import TestSupport

/// The notify protocol against a real datagram socket, as systemd listens on one: the notifier
/// itself, then both binaries as systemd runs them (Type=notify, WatchdogSec=).
@Suite(.ownThreads) struct SystemdNotifierTests {
    let scratch = ScratchFolder()

    func bound(_ path: String) throws -> NotifyListener {
        try #require(NotifyListener(path: path), "cannot bind \(path)")
    }

    @Test(arguments: ["path", "abstract"])
    func readyStatusAndStoppingArriveAsDatagrams(kind: String) throws {
        let name = kind == "path" ? Scratch.directory.appendingPathComponent("notify-\(UUID().uuidString)").path
                                  : "@microturn-test-\(UUID().uuidString)"
        let listener = try bound(name)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": name]))
        notifier.ready(status: "listening on hw:CARD=Device\nspeaking")
        notifier.status("2 turns")
        notifier.status("2 turns")  // unchanged: not sent again
        notifier.stopping(status: "stopping")
        #expect(listener.drain() == ["READY=1\nSTATUS=listening on hw:CARD=Device speaking", "STATUS=2 turns", "STOPPING=1\nSTATUS=stopping"])
        #expect(notifier.watchdogNanoseconds == nil)
    }

    @Test func theWatchdogIsFedAtHalfItsInterval() throws {
        let name = Scratch.directory.appendingPathComponent("notify-\(UUID().uuidString)").path
        let listener = try bound(name)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": name, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "\(getpid())"]))
        #expect(notifier.watchdogNanoseconds == 2_000_000_000)
        let second: UInt64 = 1_000_000_000
        var sent = 0
        // 10 s of a loop that runs every 20 ms: a ping each second, half of the 2 s interval.
        for t in stride(from: second, through: 11 * second, by: 20_000_000) {
            notifier.watchdogIfDue(now: t)
            sent += listener.drain().filter { $0 == "WATCHDOG=1" }.count
        }
        #expect(sent == 11)
    }

    @Test func noManagerNoNotifierAndAnotherProcesssWatchdogIsNotOurs() {
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]) == nil)
        let other = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/nothing-here", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"])
        #expect(other != nil && other?.watchdogNanoseconds == nil)
        // Nobody listening: the notifier says so, the caller goes on.
        #expect(other?.notify("READY=1") == false)
    }

    /// A session on files in real time, as a unit would run it: READY=1 once audio runs, the
    /// watchdog fed from the frame loop at half its interval, STOPPING=1 at the end.
    @Test func aSessionTellsSystemdItIsReadyFeedsTheWatchdogAndSaysItStops() throws {
        let socketPath = "\(scratch.path)/notify"
        let listener = try bound(socketPath)
        let input = "\(scratch.path)/silence.wav"
        try WavFile(sampleRate: 16_000, channels: 1, samples: [Float](repeating: 0, count: 96_000)).write(path: input)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        p.arguments = ["run", "--capture-file", input, "--playback-file", "\(scratch.path)/out.wav"]
        p.environment = ProcessInfo.processInfo.environment.merging(["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "400000"]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Read as systemd does, while it runs (a full queue would drop datagrams).
        let got = listener.receive(seconds: 60) { $0.hasPrefix("STOPPING=1") }
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(got.first?.hasPrefix("STATUS=opening") == true, "\(got)")
        #expect(got.filter { $0.hasPrefix("READY=1\nSTATUS=listening on \(input)") }.count == 1, "\(got)")
        // 6 s of audio at a ping per 200 ms is 30. A session held off the cores catches up in a
        // burst and pings once for it; under a full CI run one 3 s session pinged only once.
        #expect(got.filter { $0 == "WATCHDOG=1" }.count >= 2, "\(got)")
        #expect(got.last?.hasPrefix("STOPPING=1") == true, "\(got)")
    }

    /// The server: READY=1 once it listens, STOPPING=1 when SIGTERM starts its drain.
    @Test func theServerIsReadyWhenItListensAndSaysItStops() throws {
        let socketPath = "\(scratch.path)/notify-server"
        let listener = try bound(socketPath)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLineTests.binary).deletingLastPathComponent().appendingPathComponent("microturn-server")
        p.arguments = ["serve", "--plaintext", "--listen", "127.0.0.1:\(ServerProcess.freePort())", "--metrics", "", "--backend", "none",
                       "--state-dir", "\(scratch.path)/state"]
        p.environment = ProcessInfo.processInfo.environment.merging(["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "1000000"]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let started = listener.receive(seconds: 60) { $0.hasPrefix("READY=1") }
        #expect(started.last?.hasPrefix("READY=1\nSTATUS=listening on 127.0.0.1:") == true, "\(started)")
        // The watchdog from an event loop: a ping within its 1 s interval.
        let pinged = listener.receive(seconds: 5) { $0 == "WATCHDOG=1" }
        #expect(pinged.last == "WATCHDOG=1", "\(pinged)")
        p.terminate()
        let stopping = listener.receive(seconds: 30) { $0.hasPrefix("STOPPING=1") }
        #expect(stopping.last?.hasPrefix("STOPPING=1") == true, "\(stopping)")
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }
}

extension SystemdNotifierTests {
    /// `bench footprint` measures a device started as systemd would: it sees READY=1, and reads
    /// sizes and memory the kernel counted (the figures themselves are for the closing notes).
    @Test func theFootprintBenchMeasuresADeviceStartedAsSystemdWould() throws {
        let r = try CommandLineTests.run(["bench", "footprint", "--seconds", "2", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let f = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        let ready = f["ready_seconds_max"] as? Double ?? -1
        #expect(ready > 0 && ready < 30, "READY=1 not seen: \(f)")
        for key in ["idle_rss_mb_commands", "idle_rss_mb_no_commands", "speaking_rss_mb"] {
            #expect((f[key] as? Double ?? 0) > 5, "\(key): \(f)")
        }
        // Commands load PocketSphinx's acoustic model: more memory than without.
        #expect((f["idle_rss_mb_commands"] as? Double ?? 0) > (f["idle_rss_mb_no_commands"] as? Double ?? 0))
        #expect((f["libraries"] as? [String] ?? []).contains("libasound.so.2"))
    }
}
