import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnSimulation

/// `microturn bench background`: spoken questions to a kiosk, in real time, through a session whose
/// background tier is a real `microturn-server` on loopback; once with the built-in reasoning, once
/// with llama-cpp-python's OpenAI-compatible server as the backend (the same model in both).
struct BenchBackground: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "background",
        abstract: "Background answers: first device sound, first sound of the answer, answer complete; built-in beside llama-cpp-python.",
        discussion: """
        Writes a kiosk's knowledge file and a dialog (espeak-ng) of questions with pauses long enough for an
        answer, including a follow-up that needs the one before. For each backend it starts microturn-server
        (plaintext, loopback, the knowledge file) and runs the dialog in real time through a session linked to
        it, then measures from the end of each question (where the dialog put it): when the device decided the
        turn had ended, its first sound (its own acknowledgement), the first sound of the server's answer, and
        the end of the answer (heard whole, or cut); the server's own time per task (from its log); and how
        often an answer started while the user was speaking (must be 0). Then live translation: "translate to
        Spanish", segments with pauses, "stop translating"; from the end of each segment to the first sound of
        its translation (the lag). Times are p50 / p95 over the questions answered (segments translated). llama-cpp-python needs tools/setup.sh --tests; the model is tools/fetch-model.sh's.
        Example: microturn bench background --backends builtin,llama-cpp-python
        """)

    @Option(help: "Comma-separated: builtin, llama-cpp-python.")
    var backends = "builtin,llama-cpp-python"

    @Option(help: "The chat model (GGUF) both backends run.")
    var model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Flag(name: .customLong("server-speech"), help: "The device asks for the server's speech (link.server_speech): answers and translations come as Opus from the server's speech stage.")
    var serverSpeech = false

    @Flag(help: "Keep the run's folder (dialog, what the device said, its events, the servers' logs) and print where it is.")
    var keep = false

    @Flag(help: "Print one JSON object.")
    var json = false

    static let questions = [
        "When do you open on Saturdays?",
        "And on Sundays?",
        "Where are the toilets?",
        "How much does a day pass cost?",
        "Can children come in for free?",
        "Where can I get a coffee?",
    ]
    /// Words of the kiosk's fact each answer should carry (any one of them): whether the answer is
    /// right, decided by the facts, not by taste. The second question is a follow-up: only its
    /// context says it is about opening hours.
    static let expected: [[String]] = [["ten", "10", "four", "4"], ["closed"], ["first floor", "1st floor"], ["twelve", "12"], ["free"], ["ground floor", "entrance"]]
    /// Silence after each question: room for the acknowledgement and the answer.
    static let answerRoom = 9.0
    /// Live translation: segments, each followed by a pause long enough for its translation.
    static let segments = [
        "I would like two tickets for the museum.",
        "Is there a guided tour in the afternoon?",
        "Thank you very much for your help.",
    ]
    static let translationRoom = 5.0

    func validate() throws {
        for b in backends.split(separator: ",") where !["builtin", "llama-cpp-python"].contains(String(b)) {
            throw ValidationError("--backends: '\(b)' is not builtin or llama-cpp-python")
        }
    }

    struct Figures {
        var backend: String
        var asked = 0, answered = 0, overUser = 0, cut = 0
        /// Answers that carry their question's fact (`expected`).
        var right = 0
        var turnEnd: [Double] = [], firstSound: [Double] = [], answerSound: [Double] = [], answerDone: [Double] = []
        /// The server's own time per task (transcription and reasoning), and in its stages:
        /// transcription, reasoning to the first sentence; from its log.
        var server: [Double] = [], transcription: [Double] = [], firstSentence: [Double] = []
        /// Live translation: segments sent, translated (said), said over the user, and the lag from
        /// a segment's end to the first sound of its translation.
        var segments = 0, translated = 0, translationsOverUser = 0
        var translationLag: [Double] = []
    }

    func run() throws {
        try withExitCodes {
            guard FileManager.default.fileExists(atPath: model) else {
                throw UsageError(message: "\(model) is not there; fetch it with tools/fetch-model.sh or pass --model")
            }
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-bench-background-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer {
                if keep { FileHandle.standardError.write(Data("bench background: kept \(root)\n".utf8)) } else { try? FileManager.default.removeItem(atPath: root) }
            }
            let timing = try KioskDialog.write(Self.questions.map { ($0, Self.answerRoom) }, to: root + "/user.wav")
            let (ends, starts) = (timing.ends, timing.starts)
            let translation = try KioskDialog.write(
                [(TranslationLanguage.all[0].command, 3)] + Self.segments.map { ($0, Self.translationRoom) } + [(TranslationLanguage.stopCommand, 3)],
                to: root + "/translate.wav")
            var all: [Figures] = []
            for backend in backends.split(separator: ",").map(String.init) {
                FileHandle.standardError.write(Data("bench background: \(backend): running \(Self.questions.count) questions, then \(Self.segments.count) segments to translate, in real time...\n".utf8))
                let sessions = try runSessions(backend: backend, root: root, dialogs: ["user", "translate"])
                var figures = Self.measure(sessions[0], backend: backend, ends: ends, starts: starts)
                Self.measureTranslation(sessions[1], into: &figures, ends: Array(translation.ends.dropFirst().prefix(Self.segments.count)),
                                        starts: Array(translation.starts.dropFirst()))
                let log = (try? String(contentsOfFile: KioskDialog.logPath(root: root, name: backend), encoding: .utf8)) ?? ""
                figures.server = Self.logSeconds(log, line: "task answered", field: "seconds")
                figures.transcription = Self.logSeconds(log, line: "task reasoned", field: "transcribe_s")
                figures.firstSentence = Self.logSeconds(log, line: "task reasoned", field: "first_sentence_s")
                all.append(figures)
            }
            print(json ? Self.json(all) : Self.table(all))
        }
    }

    /// The servers for `backend`, then a session through them on each dialog (`root`/NAME.wav);
    /// the sessions' events.
    private func runSessions(backend: String, root: String, dialogs: [String]) throws -> [[Event]] {
        var peer: LlamaServerProcess?
        defer { peer?.stop() }
        var reasoning = ["--backend", "builtin"]
        if backend == "llama-cpp-python" {
            let llama: LlamaServerProcess
            do { llama = try LlamaServerProcess(model: model, threads: 1) } catch { throw UsageError(message: "\(error)") }
            peer = llama
            try "[reasoning]\nstream_with_tools = false\n".write(toFile: root + "/openai.toml", atomically: true, encoding: .utf8)
            reasoning = ["--backend", "openai", "--reasoning-url", llama.baseURL, "--config", root + "/openai.toml"]
        }
        let binaries = URL(fileURLWithPath: ChildProcess.microturn).deletingLastPathComponent().path
        let server = try KioskDialog.startServer(binaries: binaries, root: root, name: backend, reasoning: reasoning)
        defer { server.stop(SIGTERM) }
        return try dialogs.map { dialog in
            var config = MicroturnConfig()
            config.link = KioskDialog.link(to: server, device: "bench-\(dialog)", directory: root + "/device-\(backend)-\(dialog)")
            config.link.serverSpeech = serverSpeech
            let result = try Simulation.run(files: .init(capture: root + "/\(dialog).wav", playback: root + "/out-\(backend)-\(dialog).wav"),
                                            config: config, fast: false)
            let lines = result.report.events.map(\.jsonLine).joined(separator: "\n") + "\n"
            try? lines.write(toFile: root + "/events-\(backend)-\(dialog).jsonl", atomically: true, encoding: .utf8)
            return result.report.events
        }
    }

    /// From each segment's end: the first sound of its translation (said before the next segment
    /// starts, or in the tail).
    static func measureTranslation(_ events: [Event], into f: inout Figures, ends: [Double], starts: [Double]) {
        let speech = Event.userSpeech(in: events)
        f.segments = events.filter { $0.kind == .request && $0.detail?.contains("for translation") == true }.count
        for (i, end) in ends.enumerated() {
            let next = i + 1 < starts.count ? starts[i + 1] : .infinity
            let window = events.filter { $0.time > end && $0.time < next }
            guard let said = window.first(where: { $0.kind == .translation }) else { continue }
            f.translated += 1
            if speech.contains(where: { $0.contains(said.time) }) { f.translationsOverUser += 1 }
            if let sound = window.first(where: { $0.kind == .playbackStart && $0.time >= said.time }) { f.translationLag.append(sound.time - end) }
        }
    }

    /// From each question's end: the device's first sound, the answer's first sound, its end.
    static func measure(_ events: [Event], backend: String, ends: [Double], starts: [Double]) -> Figures {
        var f = Figures(backend: backend, asked: ends.count)
        let speech = Event.userSpeech(in: events)
        for (i, end) in ends.enumerated() {
            let next = i + 1 < starts.count ? starts[i + 1] : .infinity
            let window = events.filter { $0.time > end && $0.time < next }
            if let decided = window.first(where: { $0.kind == .turnEnd }) { f.turnEnd.append(decided.time - end) }
            if let first = window.first(where: { $0.kind == .playbackStart }) { f.firstSound.append(first.time - end) }
            guard let answer = window.first(where: { $0.kind == .answer }) else { continue }
            f.answered += 1
            let said = window.filter { $0.kind == .answer }.compactMap { $0.text?.lowercased() }.joined(separator: " ")
            if i < expected.count && expected[i].contains(where: { said.contains($0) }) { f.right += 1 }
            if speech.contains(where: { $0.contains(answer.time) }) { f.overUser += 1 }
            if let sound = window.first(where: { $0.kind == .playbackStart && $0.time >= answer.time }) { f.answerSound.append(sound.time - end) }
            // The answer's end (its sentences come one by one): the last stop before the next
            // question; heard whole, or cut by the user.
            let stops = window.filter { $0.kind == .playbackStop && $0.time > answer.time }
            if stops.contains(where: { $0.detail == "cut" }) { f.cut += 1 } else if let last = stops.last { f.answerDone.append(last.time - end) }
        }
        return f
    }

    /// A number from the server log's lines that say `line` ("task answered ... seconds=0.31
    /// seconds"), where it has one.
    static func logSeconds(_ log: String, line: String, field: String) -> [Double] {
        log.split(separator: "\n").filter { $0.contains(line) && !$0.contains("from the store") }.compactMap { text in
            guard let r = text.range(of: " \(field)=") ?? text.range(of: "\(field)=") else { return nil }
            return Double(text[r.upperBound...].prefix { $0.isNumber || ".e-+".contains($0) })
        }
    }

    static func quantiles(_ v: [Double]) -> (p50: Double, p95: Double)? {
        guard !v.isEmpty else { return nil }
        let s = v.sorted()
        return (s[s.count / 2], s[min(s.count - 1, Int((Double(s.count) * 0.95).rounded(.up)) - 1)])
    }

    static func table(_ all: [Figures]) -> String {
        func cell(_ v: [Double]) -> String {
            quantiles(v).map { String(format: "%.2f / %.2f s", $0.p50, $0.p95) } ?? "-"
        }
        var lines = ["from the end of a question (p50 / p95)".padding(toLength: 40, withPad: " ", startingAt: 0)
                     + all.map { $0.backend.padding(toLength: 22, withPad: " ", startingAt: 0) }.joined()]
        func row(_ name: String, _ value: (Figures) -> String) {
            lines.append(name.padding(toLength: 40, withPad: " ", startingAt: 0) + all.map { value($0).padding(toLength: 22, withPad: " ", startingAt: 0) }.joined())
        }
        row("turn end decided") { cell($0.turnEnd) }
        row("server's time per task") { cell($0.server) }
        row("  of it transcription") { cell($0.transcription) }
        row("  then to the first sentence") { cell($0.firstSentence) }
        row("device's first sound") { cell($0.firstSound) }
        row("first sound of the answer") { cell($0.answerSound) }
        row("answer heard to its end") { cell($0.answerDone) }
        row("answered") { "\($0.answered) of \($0.asked)" }
        row("answers with the right fact") { "\($0.right) of \($0.asked)" }
        row("answers cut by the user") { "\($0.cut)" }
        row("answers started over the user") { "\($0.overUser)" }
        row("translation: segment end to its sound") { cell($0.translationLag) }
        row("segments sent / translated") { "\($0.segments) / \($0.translated) of \(Self.segments.count)" }
        row("translations over the user") { "\($0.translationsOverUser)" }
        return lines.joined(separator: "\n")
    }

    static func json(_ all: [Figures]) -> String {
        func q(_ v: [Double]) -> String {
            quantiles(v).map { String(format: "{\"p50\":%.3f,\"p95\":%.3f}", $0.p50, $0.p95) } ?? "null"
        }
        let items = all.map {
            "{\"backend\":\"\($0.backend)\",\"asked\":\($0.asked),\"answered\":\($0.answered),\"right\":\($0.right),\"over_user\":\($0.overUser),\"cut\":\($0.cut),"
                + "\"turn_end_s\":\(q($0.turnEnd)),\"server_s\":\(q($0.server)),\"transcription_s\":\(q($0.transcription)),\"first_sentence_s\":\(q($0.firstSentence)),\"first_sound_s\":\(q($0.firstSound)),\"answer_sound_s\":\(q($0.answerSound)),\"answer_done_s\":\(q($0.answerDone)),"
                + "\"segments\":\($0.segments),\"translated\":\($0.translated),\"translations_over_user\":\($0.translationsOverUser),\"translation_lag_s\":\(q($0.translationLag))}"
        }
        return "{\"backends\":[\(items.joined(separator: ","))]}"
    }
}
