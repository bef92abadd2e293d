import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation
import MicroturnVision
import Synchronization

let stopRequested = Atomic<Bool>(false)

func installStopSignals() {
    signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a session: live on ALSA devices, or on WAV files through virtual PCMs.",
        discussion: """
        Live: opens audio.capture_device and audio.playback_device (from the board profile, config or flags)
        and runs until Ctrl-C / SIGTERM or --duration.

        Files: --capture-file is the microphone and --playback-file records the loudspeaker. The same ALSA
        code runs, on virtual PCMs (alsa-lib's file plugin). out.wav is 16 kHz mono and aligned with the
        input: sample i is what the device played while input sample i was captured. Real time by default;
        --fast runs on a virtual clock, as fast as the machine allows, with the same result every time.

        Examples:
          microturn run --capture-file user.wav --playback-file out.wav --events events.jsonl --fast
          microturn run --capture-file user.wav --playback-file out.wav --echo-path 40:-10:150
          microturn run --board generic-x86_64 --duration 60
        """)

    @OptionGroup var settings: SettingsOptions

    @Option(help: "WAV file to use as the microphone (any rate and channel count).")
    var captureFile: String?

    @Option(help: "WAV file to write what the device plays (16 kHz mono, aligned with the capture file).")
    var playbackFile: String?

    @Option(help: "Write events as JSON lines to this file.")
    var events: String?

    @Flag(help: "With files: run on a virtual clock as fast as possible instead of in real time.")
    var fast = false

    @Option(help: "With files: simulate the loudspeaker's echo into the microphone, DELAY_MS:GAIN_DB[:REVERB_MS[:NOISE_DB]].")
    var echoPath: String?

    @Option(help: "With files: a YUV4MPEG2 (.y4m) video starting with the capture; its repetitions are counted aloud (reps.announce).")
    var videoFile: String?

    @Option(help: ArgumentHelp("With files and a local model (model.path): take the user's words from this dialog's labels (microturn make-dialogs writes them), as a perfect recognizer would hear them, instead of PocketSphinx.", valueName: "labels.json"))
    var wordsFrom: String?

    @Option(help: "Live: stop after this many seconds.")
    var duration: Double?

    @Flag(help: "Print events as JSON lines instead of a timeline.")
    var json = false

    func validate() throws {
        try FlagChecks.seconds(duration, "--duration")
        if (captureFile == nil) != (playbackFile == nil) {
            throw ValidationError("--capture-file and --playback-file go together")
        }
        if captureFile == nil && (fast || echoPath != nil || videoFile != nil || wordsFrom != nil) {
            throw ValidationError("--fast, --echo-path, --video-file and --words-from only apply to a run on files (--capture-file)")
        }
        try FlagChecks.echoPath(echoPath)
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if duration != nil && captureFile != nil {
            throw ValidationError("--duration is for live runs; a run on files lasts as long as the capture file")
        }
    }

    func run() throws {
        try withExitCodes {
            let config = try settings.load()
            let output = try EventOutput(eventsPath: events, json: json)
            installStopSignals()
            // Under systemd (Type=notify): READY once audio runs, the watchdog fed from the frame loop.
            let heartbeat = ServiceHeartbeat(capture: captureFile ?? config.audio.captureDevice,
                                             playback: playbackFile ?? config.audio.playbackDevice)
            defer { heartbeat?.stopping() }
            let onEvent: (Event) -> Void = { heartbeat?.saw($0); output.write($0) }
            let shouldStop: (Int) -> Bool = { frames in
                heartbeat?.beat(framesProcessed: frames)
                return stopRequested.load(ordering: .relaxed)
            }
            let report: Session.Report
            let localModel = try LocalModel.configured(config)
            if localModel == nil && wordsFrom != nil {
                throw UsageError(message: "--words-from gives words to the local model, and no model.path is set (set it in the config or board profile)")
            }
            if let captureFile, let playbackFile {
                let video = try videoFile.map { path throws(VisionError) in try VideoRepetitions(path: path) }
                let words = try wordsFrom.map { LiveWords(script: try DialogScript.readLabels(path: $0).scriptedWords()) }
                let result = try Simulation.run(
                    files: .init(capture: captureFile, playback: playbackFile), config: config, fast: fast,
                    echoPath: echoPath.flatMap(EchoPath.Spec.init(parsing:)), repetitions: video, localModel: localModel, words: words,
                    shouldStop: shouldStop, onEvent: onEvent)
                report = result.report
            } else {
                report = try runLive(config: config, localModel: localModel, shouldStop: shouldStop, onEvent: onEvent)
            }
            if !json { print(Summary.text(report)) }
        }
    }

    private func runLive(config: MicroturnConfig, localModel: LocalModel?, shouldStop: @escaping (Int) -> Bool, onEvent: @escaping (Event) -> Void) throws -> Session.Report {
        let a = config.audio
        let formats = a.formats.compactMap(SampleFormat.init(rawValue:))
        let request = AlsaPCM.Request(rate: a.rate, channels: a.channels, formats: formats, periodMs: a.periodMs,
                                      bufferPeriods: a.bufferPeriods)
        let audio = DuplexAudio(setup: .init(capture: .init(name: a.captureDevice, request: request),
                                             playback: .init(name: a.playbackDevice, request: request),
                                             pacing: .device, reopenMaxSeconds: a.reopenMaxSeconds))
        let synthesizer = try SpeechSynthesizer(voice: .init(name: config.speech.voice, rateWpm: config.speech.rateWpm,
                                                             pitch: config.speech.pitch, gainDb: config.speech.gainDb))
        // Events go out as they happen; the report keeps the latest for the summary at the end.
        // The board's camera, if it names one: its repetitions are counted aloud. Without it the
        // device still talks; the problem is said, not fatal.
        var camera: CameraRepetitions?
        if !config.board.camera.isEmpty {
            do {
                camera = try CameraRepetitions(name: config.board.camera)
                FileHandle.standardError.write(Data("microturn: camera \(camera!.description)\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("microturn: \(error); going on without repetition counts\n".utf8))
            }
        }
        defer { camera?.stop() }
        let session = try Session(options: .init(config: config, recordLimit: 10_000, localModel: localModel), audio: audio, synthesizer: synthesizer,
                                  repetitions: camera, onEvent: onEvent)
        let deadline = duration.map { MonotonicClock.now() + UInt64($0 * 1e9) }
        return try session.run { frames in
            shouldStop(frames) || deadline.map { MonotonicClock.now() >= $0 } ?? false
        }
    }
}

enum Summary {
    static func text(_ r: Session.Report) -> String {
        var lines = ["", "turns: \(r.turns)   xruns: \(r.xruns)   audio processed: \(String(format: "%.2f", Double(r.frames) * 0.02)) s"]
        for (i, l) in r.turnLatencies.enumerated() { lines.append(String(format: "  turn %d: latency %.0f ms", i + 1, l * 1000)) }
        for (i, l) in r.duckLatencies.enumerated() { lines.append(String(format: "  duck %d: heard %.0f ms after the user began", i + 1, l * 1000)) }
        for (i, l) in r.bargeInStopLatencies.enumerated() { lines.append(String(format: "  barge-in %d: stopped %.0f ms after the user began", i + 1, l * 1000)) }
        if let p50 = Percentile.of(r.turnLatencies, 50), let p95 = Percentile.of(r.turnLatencies, 95) {
            lines.append(String(format: "turn latency p50 %.0f ms, p95 %.0f ms", p50 * 1000, p95 * 1000))
        }
        return lines.joined(separator: "\n")
    }
}
