import ArgumentParser
import Foundation
import MicroturnCore

/// `microturn diag`: one verdict on a board a field technician has a shell on.
struct Diag: ParsableCommand {
    static let groups = ["audio", "camera", "link", "model", "system"]

    static let configuration = CommandConfiguration(
        abstract: "Check the board: sound, camera, link, model and system, with what to do about each finding.",
        discussion: """
        Each check has a name, a status (pass, warn, fail, or skipped with the reason), the figures it
        measured and a hint that says what to do. It reads the same settings as `microturn run`
        (/etc/microturn/microturn.toml and its board profile, or --config/--board).

          audio   the cards; the configured capture and playback PCMs opened with the configured format;
                  the microphone's level over --capture-seconds (RMS, peak, DC offset, clipping); on a
                  loopback card, or with --loopback, a 1 kHz tone played and found again by FFT, with
                  its round trip
          camera  board.camera opened, its formats, and the frame rate measured over --frames frames
          link    name resolution, TCP, the device certificate's dates, a TLS session and the server's version
          model   with --model FILE: its SHA-256, load time and decode speed
          system  temperature against the board's limits, throttling and under-voltage (vcgencmd where
                  present), memory, disk, clock synchronisation, the unit's state and watchdog

        Run it while the service is stopped (systemctl stop microturn): the sound card and camera
        are then free to be opened.

        Exit codes: 0 everything passed (or was skipped), 1 warnings, 2 failures; 64 usage, 78 bad config,
        73 the bundle cannot be written.

        Examples:
          microturn diag
          microturn diag --only audio,system --json
          microturn diag --bundle /tmp/support.tar.gz      diag JSON, versions, config (secrets redacted), the unit's journal
        """)

    @OptionGroup var source: SettingsSource
    @Flag(help: "Print the findings as one JSON object.") var json = false
    @Option(help: "Comma-separated groups to check: audio,camera,link,model,system (default: all).") var only: String?
    @Option(help: "Also write a support archive (.tar.gz) to this path.") var bundle: String?
    @Option(help: "Seconds of microphone to measure.") var captureSeconds: Double = 2
    @Option(help: "Camera frames to time.") var frames = 60
    @Flag(help: "Play a 1 kHz tone through the loudspeaker and find it in the microphone (the loudspeaker must be heard by it).")
    var loopback = false
    @Option(help: "A local model file (GGUF) to check.") var model: String?
    @Option(help: "The systemd unit to report on.") var unit = "microturn.service"

    var selected: [String] {
        only.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? Self.groups
    }

    func validate() throws {
        for g in selected where !Self.groups.contains(g) {
            throw ValidationError("--only: unknown group '\(g)'; the groups are \(Self.groups.joined(separator: ","))")
        }
        try FlagChecks.seconds(captureSeconds, "--capture-seconds")
        guard captureSeconds > 0 && captureSeconds <= 30 else { throw ValidationError("--capture-seconds must be above 0 and at most 30") }
        try FlagChecks.integer(frames, "--frames", 2...3000)
    }

    func run() throws {
        var worst = DiagCheck.Status.skipped
        try withExitCodes {
            let config = try source.load()
            var checks: [DiagCheck] = []
            let started = Date()
            for group in selected {
                if !json { FileHandle.standardError.write(Data("checking \(group)...\n".utf8)) }
                switch group {
                case "audio": checks += DiagAudio.checks(config: config, captureSeconds: captureSeconds, forceLoop: loopback)
                case "camera": checks += DiagCamera.checks(config: config, frames: frames)
                case "link": checks += DiagLink.checks(config: config.link)
                case "model": checks += DiagModel.checks(path: model, threads: config.board.threads)
                default: checks += DiagSystem.checks(config: config, unit: unit)
                }
            }
            worst = checks.map(\.status).max { $0.rank < $1.rank } ?? .skipped
            let report: [String: Any] = [
                "version": MicroturnVersion.string, "board": config.board.name, "time": ISO8601DateFormatter().string(from: started),
                "seconds": (Date().timeIntervalSince(started) * 100).rounded() / 100, "status": worst.rawValue,
                "checks": checks.map(\.json),
            ]
            let reportJSON = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
            if json {
                print(String(decoding: reportJSON, as: UTF8.self))
            } else {
                print(Self.table(checks))
                print(String(format: "\n%@ on %@ in %.1f s", worst == .fail ? "FAILURES" : worst == .warn ? "WARNINGS" : "ALL PASSED",
                             config.board.name, Date().timeIntervalSince(started)))
            }
            if let bundle {
                try DiagBundle.write(to: bundle, report: reportJSON, configPath: source.config ?? ConfigLoader.defaultConfigPath,
                                     board: config.board.name, unit: unit)
                FileHandle.standardError.write(Data("support bundle: \(bundle)\n".utf8))
            }
        }
        if worst.exitCode != 0 { throw ExitCode(worst.exitCode) }
    }

    /// The findings as people read them: one line each, the figures and the hint under it.
    static func table(_ checks: [DiagCheck]) -> String {
        var rows: [[String]] = [["CHECK", "STATUS", "FINDING"]]
        for c in checks {
            rows.append([c.name, c.status.rawValue.uppercased(), c.summary])
            if !c.numbers.isEmpty && c.status != .pass { rows.append(["", "", "measured: \(c.figures)"]) }
            if !c.hint.isEmpty && c.status != .pass { rows.append(["", "", "what to do: \(c.hint)"]) }
        }
        return Table.render(rows)
    }
}
