import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnInteraction
import MicroturnSimulation

struct MakeDialogs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-dialogs",
        abstract: "Generate labelled dialogs for `bench turns` (espeak-ng voices and rates, statements and questions, interruptions).",
        discussion: "Writes dialog-NNN.wav (16 kHz mono, the microphone) and dialog-NNN.json (labels: each utterance's "
            + "start, end, kind, text, voice, pause, and where each of its words ends, from espeak-ng's word events) "
            + "into --out. tools/make-dialogs.sh runs this.")

    @Option(help: "Output folder (created if missing).")
    var out: String

    @Option(help: "How many dialogs.")
    var count = 12

    @Option(help: "User turns per dialog.")
    var turns = 5

    @Option(help: "Every Nth user turn is a spoken local command (0: none).")
    var commandEvery = 4

    @Option(help: "Every Nth user turn is followed by a backchannel (\"yeah\") over the device's answer (0: none).")
    var backchannelEvery = 3

    @Option(help: "Every Nth user turn has a pause of 0.4-1.5 s inside it (0: none).")
    var pauseEvery = 5

    @Option(help: "First seed; dialog k uses seed + k.")
    var seed: UInt64 = 1

    @Option(help: """
        What the user says and with which voices: classic (the benches' own: five voices, pauses after short \
        comma phrases, questions on a rise), training or held-out (many voices, pitches, rates and levels; \
        pauses after long and short parts, fillers and complete clauses; questions with and without a rise; \
        short turns). training and held-out share no voice family and no sentence: fit on one, report on the other.
        """)
    var material = "classic"

    func validate() throws {
        guard (1...1000).contains(count) else { throw ValidationError("--count must be 1-1000") }
        guard (1...50).contains(turns) else { throw ValidationError("--turns must be 1-50") }
        try FlagChecks.integer(commandEvery, "--command-every", 0...1000)
        try FlagChecks.integer(backchannelEvery, "--backchannel-every", 0...1000)
        try FlagChecks.integer(pauseEvery, "--pause-every", 0...1000)
        guard DialogMaterial.named(material) != nil else {
            throw ValidationError("--material must be one of \(DialogMaterial.names.joined(separator: ", ")), got '\(material)'")
        }
    }

    func run() throws {
        try withExitCodes {
            do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                throw AudioError.fileIO(path: out, reason: "cannot create the folder")
            }
            for k in 0..<count {
                let dialog = try DialogScript.make(seed: seed &+ UInt64(k), turns: turns, commandEvery: commandEvery,
                                               backchannelEvery: backchannelEvery, pauseEvery: pauseEvery,
                                               material: DialogMaterial.named(material)!)
                let name = String(format: "dialog-%03d", k + 1)
                try DialogScript.write(dialog, name: name, directory: out)
                print("\(out)/\(name).wav  \(String(format: "%5.1f", dialog.labels.duration)) s  \(dialog.labels.utterances.count) utterances  echo \(dialog.labels.echoPath)  noise \(dialog.labels.noiseDb.map { String(format: "%.0f dBFS", $0) } ?? "none")")
            }
        }
    }
}
