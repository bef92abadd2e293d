import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnLink
import MicroturnServer
import MicroturnSimulation
import Testing
import TestSupport

/// The device's own model in whole sessions on files (virtual clock: the session waits for the
/// model, so what it decides is the same on any machine): its judgement from the words joins the
/// turn-end log-odds, it writes the acknowledgement of a request, and with the link down it
/// answers itself. The words come from the script (a perfect recognizer), so these check the
/// model's part, not PocketSphinx's.
@Suite(.serialized, .ownThreads) struct LocalTierTests {
    static let model = CommandLineTests.repository.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    /// Turns, each in parts with a pause between them (seconds), after `gap` seconds of silence:
    /// the audio and the words a perfect recognizer gives at the end of each part.
    static func speech(_ turns: [(parts: [String], pause: Double, gap: Double)]) throws -> ([Float], [LiveWords.Scripted]) {
        let synth = FreshSpeech(voice: .init(name: "en-us", rateWpm: 160))
        var audio: [Float] = [], script: [LiveWords.Scripted] = []
        for turn in turns {
            audio += [Float](repeating: 0, count: Int(turn.gap * 16_000))
            var said = LiveWords.Scripted(start: audio.count, words: [])
            for (k, part) in turn.parts.enumerated() {
                if k > 0 { audio += [Float](repeating: 0, count: Int(turn.pause * 16_000)) }
                audio += try synth.synthesize(part).map { $0 * 0.3 }
                said.words.append((audio.count, turn.parts[...k].joined(separator: " ")))
            }
            script.append(said)
        }
        audio += [Float](repeating: 0, count: 5 * 16_000)
        return (audio, script)
    }

    static func run(_ turns: [(parts: [String], pause: Double, gap: Double)], config: MicroturnConfig = MicroturnConfig(),
                    withModel: Bool = true) throws -> Session.Report {
        try #require(FileManager.default.fileExists(atPath: model), "run tools/fetch-model.sh")
        let (audio, script) = try speech(turns)
        let d = SimulationTests.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        try WavFile(sampleRate: 16_000, channels: 1, samples: audio).write(path: "\(d)/in.wav")
        let local = withModel ? try LocalModel(path: model, threads: 2) : nil
        return try Simulation.run(files: .init(capture: "\(d)/in.wav", playback: "\(d)/out.wav"), config: config, fast: true,
                                  localModel: local, words: LiveWords(script: script)).report
    }

    @Test func wordsThatStopMidPhraseKeepTheTurnOpenThatProsodyAloneWouldTake() throws {
        let turn = (parts: ["Could you remind me, uh,", "to call the dentist tomorrow?"], pause: 1.3, gap: 1.0)
        let alone = try Self.run([turn], withModel: false)
        let fused = try Self.run([turn])
        let timeline = "\nprosody alone:\n" + alone.events.map(\.jsonLine).joined(separator: "\n")
            + "\nwith words:\n" + fused.events.map(\.jsonLine).joined(separator: "\n")
        // The stop in the pause (the first one with words: a stop inside the first part comes
        // before any): the words ("could you remind me uh") say the message goes on.
        let judged = fused.speechStops.filter { $0.wordsLogit != nil }
        #expect(judged.count >= 2, "\(fused.speechStops)")
        let pause = try #require(judged.first)
        #expect((pause.wordsLogit ?? 0) < -0.5 && pause.silence ?? 0 > 1.0, "\(fused.speechStops)")
        #expect(alone.speechStops.first?.wordsLogit == nil)
        // Prosody alone answers in the pause (a turn end before the second part); with the words
        // the device waits for the whole request and answers it once.
        #expect(alone.turns == 2, "\(timeline)")
        #expect(fused.turns == 1, "\(timeline)")
        // The whole request's words say it is done: the answer is not held back by them.
        let end = try #require(fused.speechStops.last)
        #expect((end.wordsLogit ?? -1) > 0, "\(fused.speechStops)")
    }

    @Test func theWordsAreJudgedAsTheReplyToWhatTheDeviceSaidLast() throws {
        let report = try Self.run([(parts: ["Where is the nearest pharmacy?"], pause: 0, gap: 1.0),
                                   (parts: ["Thank you."], pause: 0, gap: 6.0)])
        let timeline = report.events.map(\.jsonLine).joined(separator: "\n")
        let replies = report.events.filter { $0.kind == .replyStart && !($0.detail ?? "").hasPrefix(Session.restOf) }
        let first = try #require(replies.first, "\(timeline)")
        // Before the device has said anything the words stand alone; after, they follow its line.
        let before = report.speechStops.filter { $0.time < first.time }, after = report.speechStops.filter { $0.time > first.time }
        #expect(!before.isEmpty && before.allSatisfy { $0.deviceSaid == nil }, "\(report.speechStops)")
        let last = try #require(after.last, "\(timeline)")
        let said = try #require(replies.last(where: { $0.time < last.time })?.text)
        #expect(last.deviceSaid?.hasPrefix(said) == true, "\(String(describing: last.deviceSaid)) after \(said)")
        #expect(last.wordsLogit != nil, "\(report.speechStops)")
    }

    @Test func theWordsOverTheDeviceStopItForAnInterruptionAndLetItGoOnForABackchannel() throws {
        var config = MicroturnConfig()
        config.commands.enabled = false
        config.speech.rateWpm = 130  // a reply that lasts through what the user says over it
        let opening = (parts: ["My sister is coming to visit on Saturday."], pause: 0.0, gap: 1.0)
        // Each part's words are given where it ends: "Wait," (or "yeah,") on its own first. They
        // begin 1 s after the user's turn: the device, talking by then, has learnt its echo.
        let wait = (parts: ["Wait,", "one more thing."], pause: 0.0, gap: 1.0)
        let yeah = (parts: ["yeah,", "okay."], pause: 0.0, gap: 1.0)
        let onset = try Self.speech([opening, wait]).1[1]
        func cut(_ r: Session.Report) -> Double? { r.events.first { $0.kind == .playbackStop && $0.detail == "cut" }?.time }
        func timeline(_ r: Session.Report) -> String { r.events.map(\.jsonLine).joined(separator: "\n") }

        // Without words (no model) the device stops after 500 ms of the user's speech; with them,
        // at the end of "Wait,", for the word is not an acknowledgement.
        let alone = try Self.run([opening, wait], config: config, withModel: false)
        let fused = try Self.run([opening, wait], config: config)
        let (start, firstWord) = (Double(onset.start) / 16_000, Double(onset.words[0].end) / 16_000)
        let stopAlone = try #require(cut(alone), "\(timeline(alone))"), stopFused = try #require(cut(fused), "\(timeline(fused))")
        #expect(stopAlone >= start + 0.5, "\(timeline(alone))")
        #expect(stopFused <= firstWord + 0.1 && stopFused < stopAlone, "\(firstWord): \(timeline(fused))")

        // "Yeah, okay.": longer than 500 ms, so without words it stops the device; with them the
        // device goes on, ducked, and comes back to full level.
        let ackAlone = try Self.run([opening, yeah], config: config, withModel: false)
        let ack = try Self.run([opening, yeah], config: config)
        #expect(cut(ackAlone) != nil, "\(timeline(ackAlone))")
        #expect(cut(ack) == nil && ack.events.contains { $0.kind == .resume }, "\(timeline(ack))")
        #expect(ack.events.filter { $0.kind == .replyStart }.count == 1, "no reply to a backchannel: \(timeline(ack))")
    }

    @Test func aTurnTheUserWentOnWithIsAnsweredOnceAndAskedWhole() throws {
        var config = MicroturnConfig()
        config.commands.enabled = false
        // The device answers every stop after 200 ms, so it answers the pause; the user goes on
        // 1.2 s after the first part, the device talking for a second by then.
        config.turn.endSilenceMs = 200
        config.turn.maxSilenceMs = 200
        let folder = SimulationTests.dir()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        config.commands.requestsDirectory = folder
        let report = try Self.run([(parts: ["I finished my first marathon.", "It took almost five hours."], pause: 1.2, gap: 1.0)],
                                  config: config)
        let events = report.events, timeline = events.map(\.jsonLine).joined(separator: "\n")
        let replies = events.filter { $0.kind == .replyStart }, requests = events.filter { $0.kind == .request }
        #expect(replies.count == 2 && requests.count == 2 && report.turns == 2, "\(timeline)")
        #expect(events.contains { $0.kind == .playbackStop && $0.detail == "cut" } && !events.contains { $0.kind == .resume }, "\(timeline)")
        // The rest of the turn is no interruption: the device acknowledges the request, and asks
        // it whole (the first part's speech and the rest).
        #expect(replies.last?.text != ReplyComposer.afterInterruption, "\(timeline)")
        func seconds(_ e: Event?) -> Double? {
            // "request 2, 3.46 s of speech, ..."
            (e?.detail?.split(separator: ",").dropFirst().first?.split(separator: " ").first).flatMap { Double($0) }
        }
        let first = try #require(seconds(requests.first), "\(timeline)"), whole = try #require(seconds(requests.last), "\(timeline)")
        #expect(requests.last?.detail?.contains("the whole turn") == true && whole > first + 1, "\(timeline)")
        // The whole turn is kept in place of its first part: one request in the folder, as long
        // as the whole.
        #expect(requests.last?.detail?.hasPrefix("request 1 again,") == true, "\(timeline)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(kept == ["0001.json", "0001.wav"], "\(kept)")
        let wav = try WavFile.read(path: folder + "/0001.wav")
        #expect(abs(Double(wav.frameCount) / 16_000 - whole) < 0.01, "\(wav.frameCount) samples against \(whole) s")
    }

    @Test func theFirstPartsRequestIsWithdrawnAndOnlyTheWholeTurnsAnswerIsSaid() throws {
        try Self.withServer { server in
            var config = Self.linked(to: server)
            // A link state of its own: no request an earlier session left unanswered comes back
            // and plays over the turn.
            let state = SimulationTests.dir()
            defer { try? FileManager.default.removeItem(atPath: state) }
            config.link.directory = state
            config.commands.enabled = false
            config.turn.endSilenceMs = 200
            config.turn.maxSilenceMs = 200
            config.speech.rateWpm = 100  // an acknowledgement that lasts through the rest of the turn
            // The link comes up within the first seconds; the turn comes after that.
            let report = try Self.run([(parts: ["I finished my first marathon.", "It took almost five hours."], pause: 1.2, gap: 4.0)],
                                      config: config)
            let events = report.events, timeline = events.map(\.jsonLine).joined(separator: "\n")
            let requests = events.filter { $0.kind == .request }
            let first = try #require(requests.first?.detail?.components(separatedBy: "sent as task ").last, "\(timeline)")
            #expect(requests.count == 2 && requests.last?.detail?.contains("the whole turn in place of task \(first)") == true, "\(timeline)")
            #expect(events.filter { $0.kind == .answer }.count == 1, "one answer, to the whole turn: \(timeline)")
        }
    }

    /// A server that answers every request with the same line, on loopback (plaintext).
    static func withServer(_ body: (String) throws -> Void) throws {
        let server = try LinkServer(port: 0, security: .plaintext) { job, _ in
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            r.text = "It opens at ten."
            return r
        }
        defer { server.shutdown() }
        try body("127.0.0.1:\(server.port)")
    }

    static func linked(to server: String) -> MicroturnConfig {
        var config = MicroturnConfig()
        config.link.server = server
        config.link.plaintext = true
        config.link.deviceId = "kiosk-test"
        config.link.answerWaitSeconds = 300
        return config
    }

    @Test func theLocalModelWritesTheAcknowledgementOfARequest() throws {
        try Self.withServer { server in
            // The link comes up within the first seconds; the request comes after that.
            let report = try Self.run([(["What time does the museum open on Sundays?"], 0, 4)], config: Self.linked(to: server))
            let events = report.events
            let reply = try #require(events.first { $0.kind == .replyStart }, "\(events.map(\.jsonLine))")
            #expect(reply.detail == "the local model", "\(events.map(\.jsonLine))")
            #expect(reply.text?.hasPrefix("Let me check") == true && reply.text?.lowercased().contains("museum") == true,
                    "\(reply.text ?? "")")
            // The server's answer still follows it.
            #expect(events.contains { $0.kind == .answer && $0.text?.contains("It opens at ten.") == true }, "\(events.map(\.jsonLine))")
        }
    }

    @Test func withTheLinkDownTheLocalModelAnswersAndTheRequestStillWaits() throws {
        // A port where nothing listens: the link never comes up.
        let report = try Self.run([(["What time does the museum open on Sundays?"], 0, 1)], config: Self.linked(to: "127.0.0.1:9"))
        let events = report.events
        #expect(events.first { $0.kind == .replyStart }?.text == "I'm offline right now; I'll answer when I'm back.")
        #expect(events.first { $0.kind == .request }?.detail?.contains("waits for the link") == true, "\(events.map(\.jsonLine))")
        let own = try #require(events.first { $0.kind == .answer }, "\(events.map(\.jsonLine))")
        #expect(own.detail == "the device's own model, offline")
        #expect(own.text?.hasPrefix("While I'm offline, my own short answer: ") == true && (own.text?.count ?? 0) > 45, "\(own.text ?? "")")
    }

    /// The judgement and the acknowledgement of stop `stop`, as the model posts them.
    static func draftResults(_ local: LocalModel, stop: Int) throws -> (p: Double?, judged: Double, line: String?, written: Double) {
        var judgement: (Double?, Double)?
        while true {
            try #require(local.waitForResult(timeoutMs: 60_000), "no result from the model in a minute")
            for r in local.take() {
                switch r {
                case let .endOfTurn(s, p, seconds) where s == stop: judgement = (p, seconds)
                case let .acknowledgement(s, line, seconds) where s == stop:
                    let j = try #require(judgement, "the acknowledgement came without its judgement")
                    return (j.0, j.1, line, seconds)
                default: continue
                }
            }
        }
    }

    @Test func wordsPreparedWhileTheUserSpeaksAreDraftedAtOnceAndTheSame() throws {
        let local = try LocalModel(path: Self.model, threads: 2)
        let words = "What time does the museum open on Sundays"
        local.draft(stop: 2, words: words)
        let computed = try Self.draftResults(local, stop: 2)
        #expect(computed.judged > 0 && computed.written > computed.judged && computed.line != nil, "\(computed)")
        // Other words in between, then the same words prepared while the user says them: the stop's
        // draft posts what was prepared, worked out before it (0 s), the same as drafted cold.
        local.draft(stop: 3, words: "is there a bus to the station")
        _ = try Self.draftResults(local, stop: 3)
        local.prepare(words: "What time does the")  // moot: the user said more before it ran
        local.prepare(words: words)
        local.draft(stop: 4, words: words)
        let prepared = try Self.draftResults(local, stop: 4)
        #expect(prepared.judged == 0 && prepared.written == 0, "\(prepared)")
        #expect(prepared.p == computed.p && prepared.line == computed.line, "\(prepared) against \(computed)")
    }
}
