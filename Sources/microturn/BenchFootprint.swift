import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnService
import MicroturnSimulation

/// `microturn bench footprint`: what the device costs a board, against the integrator's targets.
struct BenchFootprint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "footprint",
        abstract: "Binary size and libraries, memory idle and while speaking, idle CPU and time to READY=1, against the targets.",
        discussion: """
        Runs this binary's `run` in real time on files, as systemd would start it (NOTIFY_SOCKET set,
        so it says READY=1 once audio runs), on the built-in defaults with local commands on and off:
          idle      silence; peak RSS (the kernel's, of the child alone), CPU from the difference of a
                    run of --seconds and one of twice that (start-up cancels out)
          speaking  a spoken "what time is it", answered aloud; peak RSS
          ready     from the start of the process to its READY=1
        Targets: binary <= 30 MB (stripped), idle RSS <= 60 MB with commands and <= 40 MB without,
        READY within 1 s, idle CPU <= 3 % of a core.
        """)

    @Option(help: "Seconds of the shorter idle run.") var seconds: Double = 6
    @Flag(help: "Print the figures as one JSON object.") var json = false

    func validate() throws {
        try FlagChecks.seconds(seconds, "--seconds")
        guard seconds >= 2 && seconds <= 120 else { throw ValidationError("--seconds must be from 2 to 120") }
    }

    struct Run { var ready: Double?; var cpu: Double; var wall: Double; var rssMB: Double }

    func run() throws {
        try withExitCodes {
            let binary = ChildProcess.microturn
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-footprint-\(getpid())").path
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let size = Double((try? FileManager.default.attributesOfItem(atPath: binary)[.size] as? Int) ?? 0) / 1_048_576
            let stripped = Self.strippedSize(binary, scratch: dir)
            let libraries = Self.needed(binary)

            func silence(_ s: Double) throws -> String {
                let path = "\(dir)/silence-\(s).wav"
                try WavFile(sampleRate: 16_000, channels: 1, samples: [Float](repeating: 0, count: Int(s * 16_000))).write(path: path)
                return path
            }
            let speech = "\(dir)/speech.wav"
            let said = try FreshSpeech().synthesize("what time is it")
            try WavFile(sampleRate: 16_000, channels: 1, samples: [Float](repeating: 0, count: 8_000) + said + [Float](repeating: 0, count: 64_000)).write(path: speech)
            let off = "\(dir)/no-commands.toml"
            try "[commands]\nenabled = false\n".write(toFile: off, atomically: true, encoding: .utf8)

            var figures: [String: Double] = ["binary_mb": size, "binary_stripped_mb": stripped ?? -1]
            var readies: [Double] = []
            for (label, config) in [("commands", nil as String?), ("no_commands", off)] {
                let short = try measure(binary, input: silence(seconds), config: config, dir: dir)
                let long = try measure(binary, input: silence(2 * seconds), config: config, dir: dir)
                figures["idle_rss_mb_\(label)"] = max(short.rssMB, long.rssMB)
                figures["idle_cpu_percent_\(label)"] = 100 * max(0, long.cpu - short.cpu) / max(0.001, long.wall - short.wall)
                readies += [short.ready, long.ready].compactMap { $0 }
            }
            let speaking = try measure(binary, input: speech, config: nil, dir: dir)
            readies += [speaking.ready].compactMap { $0 }
            figures["speaking_rss_mb"] = speaking.rssMB
            figures["ready_seconds_max"] = readies.max() ?? -1
            figures["ready_seconds_median"] = Percentile.of(readies, 50) ?? -1

            let targets: [(String, Double, String)] = [("binary_stripped_mb", 30, "MB"), ("idle_rss_mb_commands", 60, "MB"),
                                                       ("idle_rss_mb_no_commands", 40, "MB"), ("ready_seconds_max", 1, "s"),
                                                       ("idle_cpu_percent_commands", 3, "%")]
            if json {
                var object: [String: Any] = figures.mapValues { ($0 * 1000).rounded() / 1000 }
                object["libraries"] = libraries
                object["targets_met"] = Dictionary(uniqueKeysWithValues: targets.map { ($0.0, (figures[$0.0] ?? .infinity) >= 0 && (figures[$0.0] ?? .infinity) <= $0.1) })
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print("binary: \(binary)")
            print(String(format: "  %.1f MB as built, %@ stripped", size, stripped.map { String(format: "%.1f MB", $0) } ?? "(no strip here)"))
            print("  shared libraries: \(libraries.joined(separator: " "))")
            if libraries.contains(where: { $0.hasPrefix("libswift") || $0.hasPrefix("libFoundation") }) {
                print("  Swift's runtime is linked dynamically: a board without Swift cannot run it (build with --static-swift-stdlib)")
            }
            var rows = [["", "MEASURED", "TARGET", ""]]
            for (key, limit, unit) in targets {
                let v = figures[key] ?? -1
                rows.append([key, v < 0 ? "-" : String(format: "%.2f %@", v, unit), String(format: "<= %g %@", limit, unit), v >= 0 && v <= limit ? "met" : "NOT MET"])
            }
            for key in ["speaking_rss_mb", "idle_cpu_percent_no_commands", "ready_seconds_median"] {
                rows.append([key, String(format: "%.2f", figures[key] ?? -1), "", ""])
            }
            print(Table.render(rows))
        }
    }

    /// One real-time run on `input` under a stand-in for systemd's notify socket.
    private func measure(_ binary: String, input: String, config: String?, dir: String) throws -> Run {
        let socket = "\(dir)/notify"
        guard let listener = NotifyListener(path: socket) else { throw UsageError(message: "cannot bind a notify socket at \(socket)") }
        let readyAt = ReadyWatch()
        let watcher = Thread {
            _ = listener.receive(seconds: 30) { if $0.hasPrefix("READY=1") { readyAt.mark() ; return true }; return false }
        }
        setenv("NOTIFY_SOCKET", socket, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let start = MonotonicClock.now()
        watcher.start()
        var args = ["run", "--capture-file", input, "--playback-file", "\(dir)/out.wav"]
        if let config { args += ["--config", config] }
        let r = try ChildProcess.run(binary, args)
        guard r.status == 0 else { throw AudioError.fileIO(path: binary, reason: "the measured run failed (exit \(r.status))") }
        while !watcher.isFinished { usleep(1000) }
        return Run(ready: readyAt.time.map { Double($0 - start) / 1e9 }, cpu: r.cpuSeconds, wall: r.wallSeconds, rssMB: r.peakRSSMB)
    }

    final class ReadyWatch: @unchecked Sendable {
        private(set) var time: UInt64?
        func mark() { time = MonotonicClock.now() }
    }

    /// The size of a stripped copy, MB (nil where there is no strip).
    static func strippedSize(_ binary: String, scratch: String) -> Double? {
        let copy = "\(scratch)/stripped"
        guard let r = try? Shell.run(["strip", "-o", copy, binary]), r.status == 0,
              let size = try? FileManager.default.attributesOfItem(atPath: copy)[.size] as? Int else { return nil }
        return Double(size) / 1_048_576
    }

    /// The shared libraries the binary names (readelf's NEEDED entries).
    static func needed(_ binary: String) -> [String] {
        guard let r = try? Shell.run(["readelf", "-d", binary]), r.status == 0 else { return ["(no readelf here)"] }
        return r.text.split(separator: "\n").compactMap { line in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }
}
