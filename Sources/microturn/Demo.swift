import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Microturn on its built-in defaults: a spoken dialog through virtual sound devices.",
        discussion: """
        Synthesizes a short dialog with espeak-ng (DIR/user.wav, labels in DIR/user.json), plays it into
        Microturn as its microphone in real time, with a simulated room echo, and writes what Microturn
        said to DIR/out.wav (aligned with user.wav) and its events to DIR/events.jsonl. Prints the timeline
        and the latency of each turn. Needs no sound card.
        """)

    @Option(help: "Folder for user.wav, out.wav and events.jsonl.")
    var dir = "microturn-demo"

    @Flag(help: "Run on the virtual clock instead of in real time.")
    var fast = false

    @OptionGroup var settings: SettingsOptions

    func run() throws {
        try withExitCodes {
            let config = try settings.load()
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw AudioError.fileIO(path: dir, reason: "cannot create the folder")
            }
            let dialog = try DialogScript.make(seed: 1, turns: 4, interruptEvery: 3, noise: false)
            try DialogScript.write(dialog, name: "user", directory: dir)
            print("dialog: \(dir)/user.wav (\(String(format: "%.1f", dialog.labels.duration)) s, \(dialog.labels.utterances.count) utterances), room echo \(dialog.labels.echoPath)")
            print(fast ? "running on the virtual clock..." : "running in real time...")
            let output = try EventOutput(eventsPath: "\(dir)/events.jsonl", json: false)
            installStopSignals()
            let result = try Simulation.run(
                files: .init(capture: "\(dir)/user.wav", playback: "\(dir)/out.wav"), config: config, fast: fast,
                echoPath: EchoPath.Spec(parsing: dialog.labels.echoPath),
                shouldStop: { stopRequested.load(ordering: .relaxed) }, onEvent: output.write)
            print(Summary.text(result.report))
            let m = TurnMetrics.measure(output: result.output, labels: dialog.labels, events: result.report.events)
            print("measured from out.wav: " + m.turnLatencies.map { String(format: "%.0f ms", $0 * 1000) }.joined(separator: ", ")
                  + " (end of user speech to the first device sample above -40 dBFS)")
            print("wrote \(dir)/out.wav and \(dir)/events.jsonl")
        }
    }
}
