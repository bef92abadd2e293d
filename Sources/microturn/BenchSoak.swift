import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation

struct BenchSoak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "A session of hours on the virtual clock: does memory stay flat, and does every event arrive?",
        discussion: """
        Plays one dialog (a WAV file, e.g. from tools/make-dialogs.sh) over and over as the microphone for
        --hours of audio, on the virtual clock, with the session keeping only its latest events as a live run
        does, and events written to --events (rotated at 64 MiB). Prints the resident memory along the way
        (after the first loop it should not grow), the events per kind and how many reached the --events file,
        and the turns in each loop of the dialog (none at all: a loop went unheard). The input is
        streamed from a file in the temporary folder (about 115 MB per hour at 16 kHz). Build with -c release.

        Example:
          tools/make-dialogs.sh out/dialogs 1 && microturn bench soak --capture-file out/dialogs/dialog-000.wav --hours 2
        """)

    @Option(help: "The dialog to loop (WAV, any rate and channels).")
    var captureFile: String

    @Option(help: "Hours of audio to run.")
    var hours = 2.0

    @Option(help: "With the dialog's own room echo, DELAY_MS:GAIN_DB[:REVERB_MS[:NOISE_DB]] (its .json says which).")
    var echoPath: String?

    @Option(help: "Write every event to this JSON-lines file (NAME.1 holds the part before a rotation).")
    var events: String?

    @Flag(help: "Print the figures as one JSON object.")
    var json = false

    @OptionGroup var settings: SettingsOptions

    func validate() throws {
        try FlagChecks.number(hours, "--hours", 0.001...1000)
        try FlagChecks.echoPath(echoPath)
    }

    func run() throws {
        try withExitCodes {
            let config = try settings.load()
            let output = try EventOutput(eventsPath: events, json: false, quiet: true)
            let started = Date()
            let result = try Soak.run(capture: captureFile, seconds: hours * 3600, config: config,
                                      echoPath: echoPath.flatMap(EchoPath.Spec.init(parsing:)), sampleEvery: 600,
                                      progress: { s in
                                          guard !json else { return }
                                          print(String(format: "  %7.0f s of audio  RSS %6.1f MB  %d events", s.audioSeconds, s.rssMB, s.events))
                                      }, onEvent: output.write)
            let wall = Date().timeIntervalSince(started)
            let total = result.eventsByKind.values.reduce(0, +)
            let first = result.samples.first { $0.audioSeconds >= result.loopSeconds } ?? result.samples[0]
            let last = result.samples[result.samples.count - 1]
            // The last loop may be cut by the session's end. A loop can differ a little from the next
            // (the device's state goes on: which acknowledgement comes next, the adapted noise floor),
            // but one with no turn at all went unheard.
            let whole = Array(result.turnsPerLoop.dropLast())
            let spread = Dictionary(grouping: whole, by: { $0 }).mapValues(\.count).sorted { $0.key < $1.key }
            let unheard = whole.filter { $0 == 0 }.count
            if json {
                let kinds = result.eventsByKind.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
                print("{\"audio_s\":\(Event.format(last.audioSeconds)),\"wall_s\":\(Event.format(wall)),\"loops\":\(result.loops),"
                      + "\"rss_after_first_loop_mb\":\(Event.format(first.rssMB)),\"rss_end_mb\":\(Event.format(last.rssMB)),"
                      + "\"rss_max_mb\":\(Event.format(result.samples.map(\.rssMB).max() ?? 0)),\"events\":\(total),"
                      + "\"events_lost_to_file\":\(output.lostToFile),\"events_by_kind\":{\(kinds)},"
                      + "\"turns_per_loop\":\(whole),\"loops_unheard\":\(unheard)}")
            } else {
                print(String(format: "%.0f s of audio (%d loops of %.1f s) in %.0f s", last.audioSeconds, result.loops, result.loopSeconds, wall))
                print(String(format: "RSS after the first loop %.1f MB, at the end %.1f MB, highest %.1f MB", first.rssMB, last.rssMB,
                             result.samples.map(\.rssMB).max() ?? 0))
                print("events: \(total) (\(result.eventsByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
                if events != nil { print("events not written to the file: \(output.lostToFile)") }
                print("turns per whole loop: " + spread.map { "\($0.key) in \($0.value) loops" }.joined(separator: ", ")
                      + "; loops with no turn: \(unheard)")
            }
        }
    }
}
