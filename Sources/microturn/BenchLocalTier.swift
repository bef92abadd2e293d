import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation

/// `microturn bench local-tier`: the device's own model in real time. Requests to a kiosk, spoken
/// (espeak-ng), through sessions linked to a real `microturn-server` on loopback: once with the
/// fixed acknowledgement (the peer), once with the local model writing it; then with the link down,
/// where the model answers itself.
struct BenchLocalTier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local-tier",
        abstract: "The local model in real time: how soon its acknowledgement is heard, beside the fixed phrase; its offline answers.",
        discussion: """
        Writes a dialog of requests the acknowledgement prompt was never tried on, each followed by room for the \
        answer, starts microturn-server (built-in reasoning, plaintext, loopback) and runs the dialog in real \
        time, on --threads (the board's), three times: with the fixed "Let me see." (no model, the peer); with \
        --model writing the acknowledgement ("Let me check ..."), said whole if ready by model.reply_deadline_ms \
        after the user's speech ended, else its opening "Let me check" at that deadline and the model's rest as \
        soon as it is written (" that." if it is not, before the opening has been heard); and with the link \
        down, where the model answers the request itself. From the end of each request (where the dialog put it): the device's first sound, \
        p50 / p95, and the ratio to the peer; for the turns the device decided were over within the reply \
        deadline, the first sound after the user's speech end as the device heard it (a longer wait for the \
        turn decision is the turn-end model's, the same in every run); how many acknowledgements were the model's, and which; the \
        offline answers and when their first sound came. The words come from the dialog's script (--words \
        script: what a perfect recognizer hears) or from PocketSphinx streaming on the device (--words recognizer). \
        An MoE --model keeps the experts the settings say resident (model.resident_experts, --config or --board).

        Example: microturn bench local-tier --model models/SmolLM2-135M-Instruct.Q4_1.gguf
        """)

    @Option(help: "The device's chat model (GGUF).")
    var model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "Where the model's words come from: script (the dialog's) or recognizer (PocketSphinx).")
    var words = "script"

    @OptionGroup var threads: EngineThreads

    @Flag(help: "Keep the run's folder (dialog, what the device said, its events, the server's log) and print where it is.")
    var keep = false

    /// Requests of the kinds a kiosk or a fitness mirror hears. None of them was used to write or
    /// try the acknowledgement prompt.
    static let requests = [
        "How late is the gift shop open today?",
        "Can you show me a stretch for my lower back?",
        "Why does my screen keep flickering?",
        "Is there a quiet room where I can make a phone call?",
        "How many squats should a beginner do?",
        "What is the best way to warm up before running?",
        "Where is the nearest pharmacy?",
        "My speaker makes a buzzing noise when it gets loud.",
        "Do you have lockers for large bags?",
        "How do I connect my headphones to this screen?",
        "Can I bring a stroller into the exhibition?",
        "What time does the last tour start?",
        "How do I reset the password on this kiosk?",
        "Which tram goes to the harbour?",
        "How often should I stretch my hamstrings?",
        "Is it bad to run on an empty stomach?",
        "The display goes black after a few seconds.",
        "Where can I charge my phone?",
        "Should I ice my ankle after jogging?",
        "Are there vegetarian dishes in the restaurant upstairs?",
    ]
    static let room = 7.0

    func validate() throws {
        guard ["script", "recognizer"].contains(words) else { throw ValidationError("--words must be script or recognizer, got '\(words)'") }
    }

    struct Figures {
        var name: String
        var firstSound: [Double] = []
        /// From the turn decision to the first sound, and from the request's end to the first
        /// sound of the model's own acknowledgements said whole.
        var afterDecision: [Double] = []
        /// From the user's speech end (as the device heard it) to the first sound, for the turns
        /// the device decided were over within the reply deadline: the acknowledgement's own part
        /// (a turn decision that waits longer is the turn-end model's, the same in every run).
        var decidedInTime: [Double] = []
        var modelSound: [Double] = []
        var fromModel: [String] = []
        /// When the rest of a line whose opening was said at the deadline was ready.
        var restReady: [Double] = []
        /// Fixed phrases said, and why (the event's detail).
        var fixed: [String: Int] = [:]
        var ownAnswers: [(text: String, sound: Double?)] = []
    }

    func run() throws {
        try withExitCodes {
            guard FileManager.default.fileExists(atPath: model) else {
                throw UsageError(message: "\(model) is not there; fetch it with tools/fetch-model.sh or pass --model")
            }
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-bench-local-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer {
                if keep { FileHandle.standardError.write(Data("bench local-tier: kept \(root)\n".utf8)) } else { try? FileManager.default.removeItem(atPath: root) }
            }
            let timing = try KioskDialog.write(Self.requests.map { ($0, Self.room) }, to: root + "/user.wav")
            let script = zip(timing.starts, zip(timing.ends, Self.requests)).map { start, end in
                LiveWords.Scripted(start: ProcessingFormat.samples(seconds: start), words: [(ProcessingFormat.samples(seconds: end.0), end.1)])
            }
            let local = try LocalModel(path: model, threads: threads.resolve(), kvCache: threads.precision(),
                                       experts: LocalModel.Experts.configured(threads.source.load().model))
            let binaries = URL(fileURLWithPath: ChildProcess.microturn).deletingLastPathComponent().path
            let server = try KioskDialog.startServer(binaries: binaries, root: root, name: "builtin", reasoning: ["--backend", "builtin"])
            defer { server.stop(SIGTERM) }
            var all: [Figures] = []
            for (name, withModel, linkUp) in [("fixed phrase (peer)", false, true), ("local model", true, true), ("local model, link down", true, false)] {
                FileHandle.standardError.write(Data("bench local-tier: \(name): \(Self.requests.count) requests in real time...\n".utf8))
                var config = MicroturnConfig()
                config.link = KioskDialog.link(to: server, device: "bench-\(all.count)", directory: root + "/device-\(all.count)")
                if !linkUp { config.link.server = "127.0.0.1:9" }  // nothing listens there
                let source = words == "script" ? LiveWords(script: script) : nil
                let result = try Simulation.run(files: .init(capture: root + "/user.wav", playback: root + "/out-\(all.count).wav"),
                                                config: config, fast: false, localModel: withModel ? local : nil, words: source)
                let lines = result.report.events.map(\.jsonLine).joined(separator: "\n") + "\n"
                try? lines.write(toFile: root + "/events-\(all.count).jsonl", atomically: true, encoding: .utf8)
                all.append(Self.measure(result.report.events, name: name, timing: timing, deadline: Double(config.model.replyDeadlineMs) / 1000))
            }
            print(table(all))
        }
    }

    /// From each request's end, until the next one starts.
    static func measure(_ events: [Event], name: String, timing: KioskDialog.Timing, deadline: Double) -> Figures {
        var f = Figures(name: name)
        for (i, end) in timing.ends.enumerated() {
            let next = i + 1 < timing.starts.count ? timing.starts[i + 1] : .infinity
            let window = events.filter { $0.time > end && $0.time < next }
            let first = window.first { $0.kind == .playbackStart }
            if let first { f.firstSound.append(first.time - end) }
            if let first, let decided = window.first(where: { $0.kind == .turnEnd }) {
                f.afterDecision.append(first.time - decided.time)
                if let latency = first.latency, decided.time - (first.time - latency) <= deadline { f.decidedInTime.append(latency) }
            }
            let replies = window.filter { $0.kind == .replyStart }
            if let reply = replies.first {
                if reply.detail == LocalTier.fromModel, let text = reply.text {
                    f.fromModel.append(text)
                    if let first { f.modelSound.append(first.time - end) }
                } else if reply.detail == LocalTier.opening, let rest = replies.dropFirst().first, let restOrigin = rest.detail {
                    // Said at the deadline; the rest followed when the model had written it.
                    f.restReady.append(rest.time - end)
                    if restOrigin == Session.restOf + LocalTier.fromModel {
                        f.fromModel.append((reply.text ?? "") + (rest.text ?? ""))
                    } else {
                        f.fixed[restOrigin, default: 0] += 1
                    }
                } else {
                    f.fixed[reply.detail ?? "fixed phrase", default: 0] += 1
                }
            }
            if let own = window.first(where: { $0.kind == .answer && $0.detail == "the device's own model, offline" }) {
                let sound = window.first { $0.kind == .playbackStart && $0.time >= own.time }
                f.ownAnswers.append((own.text ?? "", sound.map { $0.time - end }))
            }
        }
        return f
    }

    func table(_ all: [Figures]) -> String {
        func ms(_ v: Double?) -> String { v.map { String(format: "%.0f", $0 * 1000) } ?? "-" }
        let peer = all[0]
        var lines = ["bench local-tier: \(Self.requests.count) requests, \(try! threads.resolve()) threads, words from the \(words)", ""]
        for f in all {
            let p50 = Percentile.of(f.firstSound, 50), p95 = Percentile.of(f.firstSound, 95)
            let ratio = p95.flatMap { a in Percentile.of(peer.firstSound, 95).map { String(format: "%.2f", a / $0) } } ?? "-"
            let p50ratio = p50.flatMap { a in Percentile.of(peer.firstSound, 50).map { String(format: "%.2f", a / $0) } } ?? "-"
            lines.append("\(f.name): first sound after the request p50 \(ms(p50)) ms, p95 \(ms(p95)) ms (ratio to the peer \(p50ratio), \(ratio)), "
                         + "\(f.firstSound.count) of \(Self.requests.count) answered")
            lines.append("  turns decided within the reply deadline: \(f.decidedInTime.count); first sound after the user's speech end p50 "
                         + "\(ms(Percentile.of(f.decidedInTime, 50))) ms, p95 \(ms(Percentile.of(f.decidedInTime, 95))) ms, max \(ms(f.decidedInTime.max())) ms")
            lines.append("  after the turn decision p50 \(ms(Percentile.of(f.afterDecision, 50))) ms, p95 \(ms(Percentile.of(f.afterDecision, 95))) ms; "
                         + "the model's acknowledgements \(f.fromModel.count) (said whole: \(f.modelSound.count), first sound p50 "
                         + "\(ms(Percentile.of(f.modelSound, 50))) ms, p95 \(ms(Percentile.of(f.modelSound, 95))) ms; opening said at the deadline: "
                         + "\(f.restReady.count), rest ready p50 \(ms(Percentile.of(f.restReady, 50))) ms, p95 \(ms(Percentile.of(f.restReady, 95))) ms); fixed: "
                         + (f.fixed.isEmpty ? "none" : f.fixed.sorted { $0.key < $1.key }.map { "\($0.value) (\($0.key))" }.joined(separator: ", ")))
            for text in f.fromModel { lines.append("    \(text)") }
            if !f.ownAnswers.isEmpty {
                let sounds = f.ownAnswers.compactMap(\.sound)
                lines.append("  own answers offline: \(f.ownAnswers.count), first sound p50 \(ms(Percentile.of(sounds, 50))) ms, p95 \(ms(Percentile.of(sounds, 95))) ms")
                for a in f.ownAnswers { lines.append("    \(a.text)") }
            }
        }
        return lines.joined(separator: "\n")
    }
}
