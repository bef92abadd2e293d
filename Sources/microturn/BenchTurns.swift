import ArgumentParser
import Foundation
import Glibc
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation

struct BenchTurns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "turns",
        abstract: "Turn latency, barge-in stop latency, echo-triggered barge-ins, idle CPU and RSS.",
        discussion: """
        Runs every dialog in --dialogs (made by tools/make-dialogs.sh) through `run --fast` with its room
        echo, and measures from the aligned WAVs: turn latency (annotated end of user speech to the first
        device sample above -40 dBFS), barge-in stop latency (start of the interruption to the device's last
        sample above -40 dBFS), how soon it was heard to duck (start of the user's speech over it to the first sample of its voice \
        10 dB down or cut, as played: after its output buffer, not when it was decided), the \
        backchannels that broke its speech for more than 150 ms, pauses inside a turn where it started to speak \
        (any sound, and as Full-Duplex-Bench v1 counts a take-over: 1 s of sound or more than 3 words heard, \
        counted where the device's voice says each word of the line; the latter also by the kind of pause \
        the dialog's labels name) and barge-ins with no user speech (echo-triggered), and ducks with none (faint speech the device ducked for that was its echo). The same dialogs also run
        with a peer policy that waits a fixed 500 ms of silence (OpenAI server VAD's default); ratios are
        Microturn / peer. Idle CPU (without start-up) and peak RSS come from real-time `microturn run`s on
        silence in child processes: build with -c release for meaningful figures.

        With --local-model, a third run adds the local model's judgement from the user's words to the turn-end \
        model (model.words_weight, model.words_center), and lets the words over the device tell a backchannel \
        from an interruption (barge_in.words_stop_after_ms, and barge_in.resume_within_ms: the user going on \
        after a pause the device took for an end stops it at their first word that is not an acknowledgement): the words from the dialog's labels (--words script, \
        what a perfect streaming recognizer would give, each word where it ends) or from PocketSphinx \
        streaming (--words recognizer). On the \
        virtual clock the session waits for the model, so its figures say what the words add, not whether \
        this machine computes them in time (`bench local-tier` measures that).

        With --pipecat, a run with Pipecat's turn stack as the peer: Silero VAD + Smart Turn v3.2 from the \
        pipecat-ai wheel through onnxruntime, with Pipecat's defaults (tools/pipecat-peer.py decides on each \
        dialog's microphone track, without the device's echo, as if its echo cancellation were perfect; the \
        device stops at once when Pipecat hears the user start, as Pipecat interrupts its bot). Set it up \
        once with tools/setup.sh --peers.
        """)

    @Option(help: "Folder of dialog-NNN.wav + dialog-NNN.json.")
    var dialogs: String

    @Option(help: "Seconds of silence for the idle CPU/RSS measurement (0 skips it).")
    var idleSeconds = 10.0

    @Option(help: "A chat model (.gguf) for a third run: turn ends from prosody and words together.")
    var localModel: String?

    @Option(help: "Where the third run's words come from: script (the dialog's labels) or recognizer (PocketSphinx).")
    var words = "script"

    @Flag(help: "Also run Pipecat's Silero VAD + Smart Turn v3.2 as a peer (needs tools/setup.sh --peers).")
    var pipecat = false

    @Option(help: "The Python that has pipecat-ai and onnxruntime (tools/setup.sh --peers makes it).")
    var peerPython = ".venv-peers/bin/python"

    @Option(help: "The script that runs Pipecat's turn stack on the dialogs.")
    var peerScript = "tools/pipecat-peer.py"

    @Option(help: "Keep each dialog's out.wav and events.jsonl in this folder.")
    var keep: String?

    @Flag(help: "Print the figures as one JSON object.")
    var json = false

    @OptionGroup var settings: SettingsOptions

    /// Every dialog starts at the same time of day, so that a reply with the time ("It is 4 36 p
    /// m.") is the same length on every run and the figures do not change between runs.
    static let startOfCapture = Date(timeIntervalSince1970: 1_796_000_000)

    func validate() throws {
        try FlagChecks.seconds(idleSeconds, "--idle-seconds", allowZero: true)
        guard ["script", "recognizer"].contains(words) else { throw ValidationError("--words must be script or recognizer, got '\(words)'") }
    }

    func run() throws {
        try withExitCodes {
            let config = try settings.load()
            let names = try DialogFolder.names(in: dialogs)
            if let keep { try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true) }
            var peer = config
            peer.turn.endSilenceMs = 500
            peer.turn.maxSilenceMs = 500
            peer.turn.predict = false
            var withWords = config
            if let localModel { withWords.model.path = localModel }
            let model = try LocalModel.configured(withWords)
            var ours = TurnMetrics(), theirs = TurnMetrics(), fused = TurnMetrics(), pipecatRun = TurnMetrics()
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-bench-\(getpid())").path
            try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: work) }
            let pipecatConfig = PipecatPeer.sessionConfig(config)
            let pipecatPeer = pipecat ? try PipecatPeer.run(python: peerPython, script: peerScript, dialogs: dialogs,
                                                            out: "\(keep ?? work)/pipecat-peer.json") : nil
            // Every run speaks in the device's voice: what it was heard to say in a pause is
            // counted in the words of that voice.
            let wordStarts = TurnMetrics.wordStarts(try SpeechSynthesizer(voice: .init(
                name: config.speech.voice, rateWpm: config.speech.rateWpm, pitch: config.speech.pitch, gainDb: config.speech.gainDb)))
            let started = Date()
            for (i, name) in names.enumerated() {
                let labels = try DialogScript.readLabels(path: "\(dialogs)/\(name).json")
                let echo = EchoPath.Spec(parsing: labels.echoPath)
                let marks = try pipecatPeer.map { p in
                    guard let m = p.marks[name] else { throw UsageError(message: "the Pipecat peer's output has no \(name); run it again") }
                    return m
                }
                for (which, cfg) in [(0, config), (1, peer)] + (model == nil ? [] : [(2, withWords)]) + (marks == nil ? [] : [(3, pipecatConfig)]) {
                    let suffix = ["", "-peer", "-words", "-pipecat"][which]
                    let out = "\((which != 1 ? keep : nil) ?? work)/\(name)\(suffix).out.wav"
                    let source = which == 2 && words == "script" ? LiveWords(script: labels.scriptedWords()) : nil
                    let result = try Simulation.run(files: .init(capture: "\(dialogs)/\(name).wav", playback: out),
                                                    config: cfg, fast: true, echoPath: echo, localModel: which == 2 ? model : nil,
                                                    words: source, scheduledTurns: which == 3 ? marks : nil,
                                                    startOfCapture: Self.startOfCapture)
                    if which != 1, let keep {
                        let lines = result.report.events.map(\.jsonLine).joined(separator: "\n") + "\n"
                        try? lines.write(toFile: "\(keep)/\(name)\(suffix).events.jsonl", atomically: true, encoding: .utf8)
                    }
                    let m = TurnMetrics.measure(output: result.output, labels: labels, events: result.report.events, wordStarts: wordStarts)
                    switch which {
                    case 0: ours.add(m)
                    case 1: theirs.add(m)
                    case 2: fused.add(m)
                    default: pipecatRun.add(m)
                    }
                }
                if !json {
                    FileHandle.standardError.write(Data("\r[\(i + 1)/\(names.count)] \(name)  \(String(format: "%.0f", Date().timeIntervalSince(started))) s".utf8))
                }
            }
            if !json { FileHandle.standardError.write(Data("\n".utf8)) }
            let idle = idleSeconds > 0 ? try measureIdleRate(seconds: idleSeconds, config: settings) : nil
            let firstChunk = try measureFirstChunk(config: config)
            let figures = Figures(ours: ours, peer: theirs, withWords: model == nil ? nil : fused,
                                  pipecat: pipecatPeer.map { (pipecatRun, $0) }, idle: idle, firstChunk: firstChunk, dialogs: names.count)
            print(json ? figures.json : figures.table)
        }
    }

    /// Wall time from asking espeak-ng for each reply to its first 16 kHz chunk (what playback can
    /// start on), p50 and p95 over every reply text, several times each.
    private func measureFirstChunk(config: MicroturnConfig) throws -> (p50: Double, p95: Double) {
        let synth = try SpeechSynthesizer(voice: .init(name: config.speech.voice, rateWpm: config.speech.rateWpm,
                                                       pitch: config.speech.pitch, gainDb: config.speech.gainDb))
        let composer = ReplyComposer()
        var times: [Double] = []
        for round in 0..<10 {
            for k in 0..<5 {
                let text = composer.reply(to: .init(index: k, durationSeconds: 2, interrupted: k == 4)).text ?? ""
                let start = MonotonicClock.now()
                var first: UInt64?
                try synth.speak(text) { _ in
                    if first == nil { first = MonotonicClock.now() }
                    return round < 0  // the first chunk is all this measures
                }
                if let first { times.append(Double(first - start) / 1e9) }
            }
        }
        return (Percentile.of(times, 50) ?? 0, Percentile.of(times, 95) ?? 0)
    }

    /// Idle CPU while listening, without start-up (loading models): the difference between a run of
    /// 2 x `seconds` and one of `seconds`, over the difference in wall time. Peak RSS is the larger run's.
    private func measureIdleRate(seconds: Double, config: SettingsOptions) throws -> (cpuPercent: Double, rssMB: Double) {
        let short = try measureIdle(seconds: seconds, config: config)
        let long = try measureIdle(seconds: 2 * seconds, config: config)
        let rate = max(0, long.cpu - short.cpu) / max(0.001, long.wall - short.wall)
        return (100 * rate, max(short.rssMB, long.rssMB))
    }

    /// Runs `microturn run` in real time on silence in a child process and reads its CPU time and
    /// peak RSS from the kernel (wait4's rusage), so the figures are the runtime's alone.
    private func measureIdle(seconds: Double, config: SettingsOptions) throws -> (cpu: Double, wall: Double, rssMB: Double) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-idle-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let silence = WavFile(sampleRate: 16_000, channels: 1, samples: [Float](repeating: 0, count: Int(seconds * 16_000)))
        try silence.write(path: "\(dir)/silence.wav")
        var args = ["run", "--capture-file", "\(dir)/silence.wav", "--playback-file", "\(dir)/out.wav"]
        if let c = config.source.config { args += ["--config", c] }
        if let b = config.source.board { args += ["--board", b] }
        let r = try ChildProcess.run(ChildProcess.microturn, args)
        guard r.status == 0 else { throw AudioError.fileIO(path: ChildProcess.microturn, reason: "the idle run failed (exit \(r.status))") }
        return (r.cpuSeconds, r.wallSeconds, r.peakRSSMB)
    }
}

/// The benchmark's figures, for people (a table) and machines (JSON).
struct Figures {
    var ours: TurnMetrics
    var peer: TurnMetrics
    /// Microturn with the local model's words (nil: not run).
    var withWords: TurnMetrics?
    /// Pipecat's turn stack run as a peer (nil: not run).
    var pipecat: (metrics: TurnMetrics, peer: PipecatPeer)?
    var idle: (cpuPercent: Double, rssMB: Double)?
    var firstChunk: (p50: Double, p95: Double)
    var dialogs: Int

    /// How the table names the labels' kinds of pause.
    static let pauseKinds = ["comma": "a comma phrase", "long": "a long first part", "filler": "a filler", "clause": "a complete clause"]

    private func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.1f", 100 * Double(a) / Double(b)) }
    private func ms(_ v: Double?) -> String { v.map { String(format: "%.0f", $0 * 1000) } ?? "-" }
    private func ratio(_ a: Double?, _ b: Double?) -> String {
        guard let a, let b, b > 0 else { return "-" }
        return String(format: "%.2f", a / b)
    }

    var table: String {
        let p = { (m: TurnMetrics, q: Double) in Percentile.of(m.turnLatencies, q) }
        let s = { (m: TurnMetrics, q: Double) in Percentile.of(m.stopLatencies, q) }
        func pad(_ v: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - v.count)) + v }
        /// Columns: microturn, peer (500 ms), ratio, [pipecat, ratio], [+ words].
        func row(_ name: String, _ a: String, _ b: String, _ r: String = "", pipecat pc: [String] = ["", ""], _ w: String = "") -> String {
            name.padding(toLength: 34, withPad: " ", startingAt: 0) + pad(a, 10) + pad(b, 14) + pad(r, 8)
                + (pipecat == nil ? "" : pad(pc[0], 12) + pad(pc[1], 8)) + (withWords == nil ? "" : pad(w, 14))
        }
        /// A row of one figure for each run, with ratios Microturn / peer where `ratio` gives one.
        func each(_ name: String, ratio: ((TurnMetrics) -> Double?)? = nil, _ f: (TurnMetrics) -> String) -> String {
            let r = { (them: TurnMetrics) in ratio.map { g in self.ratio(g(ours), g(them)) } ?? "" }
            return row(name, f(ours), f(peer), r(peer), pipecat: pipecat.map { [f($0.metrics), r($0.metrics)] } ?? ["", ""],
                       withWords.map(f) ?? "")
        }
        var rows = [
            "dialogs: \(dialogs), user turns: \(ours.userTurns), interruptions: \(ours.interruptions) (\(ours.overlappingInterruptions) while the device spoke)",
            "",
            row("", "microturn", "peer (500 ms)", "ratio", pipecat: ["pipecat", "ratio"], "+ words"),
            each("turn latency p50 (ms)", ratio: { p($0, 50) }) { ms(p($0, 50)) },
            each("turn latency p95 (ms)", ratio: { p($0, 95) }) { ms(p($0, 95)) },
            each("turns unanswered") { "\($0.missedTurns)" },
            each("duck after onset p50 (ms)") { ms(Percentile.of($0.duckLatencies, 50)) },
            each("duck after onset p95 (ms)") { ms(Percentile.of($0.duckLatencies, 95)) },
            each("barge-in stop p50 (ms)") { ms(s($0, 50)) },
            each("barge-in stop p95 (ms)") { ms(s($0, 95)) },
            each("interruptions taken over") { "\($0.interruptionTakeovers)/\($0.interruptions)" },
            each("echo-triggered barge-ins") { "\($0.falseBargeIns)" },
            each("ducks with no user speech") { "\($0.ducksWithoutSpeech)" },
            each("smooth turns taken (%)") { pct($0.userTurns - $0.missedTurns, $0.userTurns) },
            each("pauses where it took the turn") { "\($0.pauseTakeovers)/\($0.pausedTurns)" },
            each("  taken over (FD-bench v1)") { "\($0.pauseTakeoversFDB)/\($0.pausedTurns)" },
        ] + ours.pausesByKind.keys.sorted().map { kind in
            each("    after \(Self.pauseKinds[kind] ?? kind)") {
                let c = $0.pausesByKind[kind] ?? TurnMetrics.PauseCount()
                return "\(c.takeovers)/\(c.turns)"
            }
        } + [
            each("backchannels that stopped it") { "\($0.backchannelStops)/\($0.backchannels)" },
            each("backchannel breaks > 150 ms") { "\($0.backchannelBreaks)/\($0.backchannels)" },
            each("device backchannels (over speech)") { "\($0.deviceBackchannels) (\($0.deviceBackchannelsOverSpeech))" },
            each("commands recognized") { "\($0.commandsRecognized)/\($0.commands)" },
            each("speech taken for a command") { "\($0.commandFalseAccepts)/\($0.userTurns + $0.interruptions)" },
            each("command answer p50 (ms)") { ms(Percentile.of($0.commandLatencies, 50)) },
            each("command answer p95 (ms)") { ms(Percentile.of($0.commandLatencies, 95)) },
            row("speech first chunk p50/p95 (ms)", String(format: "%.1f/%.1f", firstChunk.p50 * 1000, firstChunk.p95 * 1000), ""),
            each("replies / (turns + interruptions)") { "\($0.replies)/\($0.userTurns + $0.interruptions)" },
        ]
        if let pipecat {
            let c = pipecat.peer
            rows.append("")
            rows.append("pipecat: \(c.name); Smart Turn's compute per call here p50/p95 "
                        + "\(c.computeP50Ms.map { String(format: "%.0f", $0) } ?? "-")/\(c.computeP95Ms.map { String(format: "%.0f", $0) } ?? "-") ms "
                        + "(\(c.calls) calls; not in its latencies, which are on the stream's clock like Microturn's)")
        }
        if let idle {
            rows.append(row("idle CPU (% of one core)", String(format: "%.2f", idle.cpuPercent), ""))
            rows.append(row("peak RSS (MB)", String(format: "%.1f", idle.rssMB), ""))
        }
        return rows.joined(separator: "\n")
    }

    var json: String {
        func stats(_ m: TurnMetrics) -> String {
            let f = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "null" }
            return "{\"turn_latency_p50_s\":\(f(Percentile.of(m.turnLatencies, 50))),\"turn_latency_p95_s\":\(f(Percentile.of(m.turnLatencies, 95))),"
                + "\"turns\":\(m.userTurns),\"unanswered\":\(m.missedTurns),\"interruptions\":\(m.interruptions),\"interruption_takeovers\":\(m.interruptionTakeovers),"
                + "\"overlapping_interruptions\":\(m.overlappingInterruptions),\"barge_in_stop_p50_s\":\(f(Percentile.of(m.stopLatencies, 50))),"
                + "\"barge_in_stop_p95_s\":\(f(Percentile.of(m.stopLatencies, 95))),\"echo_false_barge_ins\":\(m.falseBargeIns),\"replies\":\(m.replies),"
                + "\"paused_turns\":\(m.pausedTurns),\"pause_takeovers\":\(m.pauseTakeovers),\"pause_takeovers_fdb\":\(m.pauseTakeoversFDB),"
                + "\"pause_takeovers_fdb_by_kind\":{" + m.pausesByKind.sorted { $0.key < $1.key }.map { k, c in
                    "\"\(k)\":{\"paused_turns\":\(c.turns),\"takeovers\":\(c.takeovers)}"
                }.joined(separator: ",") + "},"
                + "\"backchannels\":\(m.backchannels),\"backchannel_stops\":\(m.backchannelStops),\"backchannel_breaks\":\(m.backchannelBreaks),"
                + "\"duck_p50_s\":\(f(Percentile.of(m.duckLatencies, 50))),\"duck_p95_s\":\(f(Percentile.of(m.duckLatencies, 95))),\"ducks_without_speech\":\(m.ducksWithoutSpeech),"
                + "\"device_backchannels\":\(m.deviceBackchannels),\"device_backchannels_over_speech\":\(m.deviceBackchannelsOverSpeech),"
                + "\"commands\":\(m.commands),\"commands_recognized\":\(m.commandsRecognized),\"command_false_accepts\":\(m.commandFalseAccepts),"
                + "\"command_answer_p50_s\":\(f(Percentile.of(m.commandLatencies, 50))),\"command_answer_p95_s\":\(f(Percentile.of(m.commandLatencies, 95)))}"
        }
        var out = "{\"dialogs\":\(dialogs),\"microturn\":\(stats(ours)),\"peer_fixed_500ms\":\(stats(peer))"
        if let withWords { out += ",\"microturn_with_words\":\(stats(withWords))" }
        if let pipecat {
            let f = { (v: Double?) in v.map { String(format: "%.1f", $0) } ?? "null" }
            out += ",\"pipecat\":\(stats(pipecat.metrics)),\"pipecat_smart_turn_ms\":{\"calls\":\(pipecat.peer.calls),"
                + "\"p50\":\(f(pipecat.peer.computeP50Ms)),\"p95\":\(f(pipecat.peer.computeP95Ms))}"
        }
        out += String(format: ",\"speech_first_chunk_p50_s\":%.5f,\"speech_first_chunk_p95_s\":%.5f", firstChunk.p50, firstChunk.p95)
        if let idle { out += String(format: ",\"idle_cpu_percent\":%.3f,\"peak_rss_mb\":%.2f", idle.cpuPercent, idle.rssMB) }
        return out + "}"
    }
}
