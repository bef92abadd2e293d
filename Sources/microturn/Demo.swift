import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Microturn on its built-in defaults: a spoken dialog through virtual sound devices, both tiers.",
        discussion: "Starts microturn-server (the one built beside this binary) on loopback with its built-ins: PocketSphinx "
            + "transcription, SmolLM2-135M-Instruct on Microturn's own engine (tools/fetch-model.sh), and a kiosk's facts. "
            + "Then a visitor's questions (espeak-ng, DIR/user.wav) play into Microturn as its microphone, in real time, with a "
            + "simulated room echo: one question, a follow-up that needs it (\"And on Sundays?\"), one that needs a tool (today's "
            + "date), and one whose answer the visitor talks over. The device acknowledges each at once and says the server's "
            + "answer as it streams.\n\n"
            + "Prints the timeline, then per question when the turn was taken, the device's first sound, the answer's first "
            + "sound and its end. What Microturn said is in DIR/out.wav (aligned with user.wav), its events in DIR/events.jsonl, "
            + "the server's log in DIR/server.log. Needs no sound card, microphone or outside service.\n\n"
            + "Without the server binary or the model (or with --device-only), a dialog with the device alone.")

    @Option(help: "Folder for user.wav, out.wav, events.jsonl and server.log.")
    var dir = "microturn-demo"

    @Flag(help: "Run on the virtual clock instead of in real time.")
    var fast = false

    @Flag(help: "The device alone: no background server.")
    var deviceOnly = false

    @OptionGroup var settings: SettingsOptions

    /// The visitor's lines and the silence after each (room for the answer; the fourth line comes
    /// while the third's answer is being said).
    static let lines: [(text: String, roomAfter: Double)] = [
        ("When do you open on Saturdays?", 8),
        ("And on Sundays?", 8),
        ("What day is it today?", 8),
        ("Where are the toilets?", 3.8),
        ("Wait, is there a cafe here?", 9),
    ]

    func run() throws {
        try withExitCodes {
            var config = try settings.load()
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw AudioError.fileIO(path: dir, reason: "cannot create the folder")
            }
            let dir = URL(fileURLWithPath: self.dir).standardizedFileURL.path
            var server: ServerProcess?
            defer { server?.stop(SIGTERM) }
            if !deviceOnly {
                do {
                    server = try startServer(in: dir)
                    config.link = KioskDialog.link(to: server!, device: "demo-kiosk", directory: dir + "/device")
                    // A fresh device each run: nothing left waiting from the last one.
                    try? FileManager.default.removeItem(atPath: dir + "/device")
                } catch {
                    print("background tier off: \(error)")
                    print("(the device alone answers; for both tiers: tools/setup.sh builds microturn-server and fetches the model)")
                }
            }
            var timing: KioskDialog.Timing?
            var dialog: (audio: [Float], labels: DialogLabels)?
            let echo: EchoPath.Spec?
            if let server {
                timing = try KioskDialog.write(Self.lines, to: dir + "/user.wav")
                echo = EchoPath.Spec(delayMs: 40, gainDb: -12)
                print("dialog: \(dir)/user.wav (\(Self.lines.count) questions to a kiosk), microturn-server on 127.0.0.1:\(server.port) with its built-ins")
            } else {
                let d = try DialogScript.make(seed: 1, turns: 4, interruptEvery: 3, noise: false)
                try DialogScript.write(d, name: "user", directory: dir)
                dialog = d
                echo = EchoPath.Spec(parsing: d.labels.echoPath)
                print("dialog: \(dir)/user.wav (\(String(format: "%.1f", d.labels.duration)) s, \(d.labels.utterances.count) utterances), room echo \(d.labels.echoPath)")
            }
            print(fast ? "running on the virtual clock..." : "running in real time...")
            let output = try EventOutput(eventsPath: "\(dir)/events.jsonl", json: false)
            installStopSignals()
            let result = try Simulation.run(
                files: .init(capture: "\(dir)/user.wav", playback: "\(dir)/out.wav"), config: config, fast: fast,
                echoPath: echo, shouldStop: { _ in stopRequested.load(ordering: .relaxed) }, onEvent: output.write)
            print(Summary.text(result.report))
            if let timing { print(Self.perQuestion(result.report.events, timing: timing)) }
            if let dialog {
                let m = TurnMetrics.measure(output: result.output, labels: dialog.labels, events: result.report.events)
                print("measured from out.wav: " + m.turnLatencies.map { String(format: "%.0f ms", $0 * 1000) }.joined(separator: ", ")
                      + " (end of user speech to the first device sample above -40 dBFS)")
            }
            print("wrote \(dir)/out.wav and \(dir)/events.jsonl" + (server != nil ? "; the server's log is \(dir)/server.log" : ""))
        }
    }

    /// microturn-server beside this binary, with the built-in reasoning.
    private func startServer(in dir: String) throws -> ServerProcess {
        let binaries = URL(fileURLWithPath: ChildProcess.microturn).deletingLastPathComponent().path
        guard FileManager.default.isExecutableFile(atPath: binaries + "/microturn-server") else {
            throw UsageError(message: "no microturn-server beside this binary in \(binaries)")
        }
        // A fresh server each run: no memory of the last run's conversation.
        try? FileManager.default.removeItem(atPath: KioskDialog.logPath(root: dir, name: "demo"))
        try? FileManager.default.removeItem(atPath: dir + "/state-demo")
        do {
            let server = try KioskDialog.startServer(binaries: binaries, root: dir, name: "demo", reasoning: ["--backend", "builtin"])
            // One name for people to open.
            try? FileManager.default.removeItem(atPath: dir + "/server.log")
            try? FileManager.default.createSymbolicLink(atPath: dir + "/server.log", withDestinationPath: "server-demo.log")
            return server
        } catch {
            // The server says why it could not start (a model missing, say) in its log.
            let log = (try? String(contentsOfFile: KioskDialog.logPath(root: dir, name: "demo"), encoding: .utf8)) ?? ""
            let reason = log.split(separator: "\n").last { $0.contains("error") || $0.contains("not there") }.map(String.init)
            throw UsageError(message: reason ?? "\(error)")
        }
    }

    /// Per question, from where its speech ended: the turn taken, the device's first sound, the
    /// answer's first sound and its end (heard whole, or cut by the visitor).
    static func perQuestion(_ events: [Event], timing: KioskDialog.Timing) -> String {
        var rows = ["from the end of each question: turn taken, device's first sound, answer's first sound, answer's end"]
        for (i, end) in timing.ends.enumerated() {
            let next = i + 1 < timing.starts.count ? timing.starts[i + 1] : .infinity
            let window = events.filter { $0.time > end && $0.time < next + 0.2 }
            func after(_ e: Event?) -> String { e.map { String(format: "+%.2f s", $0.time - end) } ?? "-" }
            let turn = window.first { $0.kind == .turnEnd }
            let first = window.first { $0.kind == .playbackStart }
            let answer = window.first { $0.kind == .answer }
            let sound = answer.flatMap { a in window.first { $0.kind == .playbackStart && $0.time >= a.time } }
            let stops = answer.map { a in window.filter { $0.kind == .playbackStop && $0.time > a.time } } ?? []
            let cut = stops.contains { $0.detail == "cut" }
            let said = window.filter { $0.kind == .answer }.compactMap(\.text).joined(separator: " ")
            rows.append("  \(i + 1). \"\(Self.lines[i].text)\"  \(after(turn)), \(after(first)), \(after(sound)), "
                        + "\(after(cut ? stops.first { $0.detail == "cut" } : stops.last))\(cut ? " (cut by the visitor)" : "")")
            if !said.isEmpty { rows.append("     answer: \"\(said)\"") }
        }
        return rows.joined(separator: "\n")
    }
}
