import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnLink
import MicroturnServer
import MicroturnSimulation
import Synchronization
import Testing
import TestSupport

/// A session on files with the link (TLS, a device certificate from a fleet CA) to a real server
/// on loopback: a request goes up as Opus and a
/// TASK, the server's answer comes back and is said at a micro-turn boundary once the user is
/// done; with no server, the user is told the device is offline.
@Suite(.serialized, .ownThreads) struct BackgroundLinkTests {
    /// A session on files with the link to `server`. Each request waits (wall time) up to
    /// `answerWait` for its answer: the servers here answer at once however loaded the machine is
    /// (a CI run once took over 10 s to get one), except the ones that hold their answer on purpose.
    static func run(server: String, lines: [(String, Double)], deviceDirectory: String? = nil, serverSpeech: Bool = false,
                    answerWait: Double = 300, config base: MicroturnConfig = MicroturnConfig()) throws -> [Event] {
        try runWithOutput(server: server, lines: lines, deviceDirectory: deviceDirectory, serverSpeech: serverSpeech, answerWait: answerWait,
                          config: base).report.events
    }

    /// The same, with what the device played.
    static func runWithOutput(server: String, lines: [(String, Double)], deviceDirectory: String? = nil, serverSpeech: Bool = false,
                              answerWait: Double = 300, config base: MicroturnConfig = MicroturnConfig()) throws -> Simulation.Result {
        var config = base
        config.link.answerWaitSeconds = answerWait
        config.link.server = server
        config.link.serverSpeech = serverSpeech
        config.link.deviceId = "kiosk-test"
        config.link.plaintext = deviceDirectory == nil
        config.link.directory = deviceDirectory ?? ""
        return try LocalCommandTests.run(lines, config: config).0
    }

    @Test func anAnswerFromTheServerIsSaidWhenTheUserIsDone() throws {
        let heard = LockedCount()
        let root = Scratch.directory.appendingPathComponent("fleet-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ca = try FleetCA.create(directory: root + "/ca", name: "Test Fleet CA", days: 30, serverNames: ["127.0.0.1"])
        try ca.enroll(deviceDirectory: root + "/device", deviceId: "kiosk-test")
        let playbacks = Mutex<[Microturn_Link_V1_Event]>([])
        let server = try LinkServer(port: 0, security: .tls(caDirectory: ca.directory), events: { _, e in playbacks.withLock { $0.append(e) } }) { job, _ in
            heard.add(job.opus.count)
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            r.text = "Your dentist appointment is noted."
            return r
        }
        defer { server.shutdown() }
        // The session's client connects on its own; a request made before it is up waits and is
        // answered late (introduced as such). Two requests, the second well after the first.
        let events = try Self.run(server: "127.0.0.1:\(server.port)",
                                  lines: [("Could you remind me to call the dentist?", 1), ("And book a table for two tonight please.", 6)],
                                  deviceDirectory: root + "/device")
        let answers = events.filter { $0.kind == .answer }
        #expect(!answers.isEmpty, "\(events.map(\.jsonLine))")
        let online = events.first { $0.kind == .link && $0.text == "online" }
        #expect(online != nil && online!.time <= answers.first?.time ?? 0, "the session learned the link came up before it was answered")
        #expect(heard.value >= 100, "the server got each task with its speech (\(heard.value) Opus packets)")
        // Said at a boundary (every 200 ms), after the user stopped, never over them.
        let speech = Event.userSpeech(in: events)
        for a in answers {
            let k = a.time / 0.2
            #expect(abs(k - k.rounded()) < 1e-6, "answer at \(a.time) s, between boundaries")
            #expect(!speech.contains { $0.contains(a.time) }, "answer at \(a.time) over the user: \(speech)")
            #expect(a.text?.hasSuffix("Your dentist appointment is noted.") == true)
        }
        // Each answer heard to its end is reported to the server (PLAYBACK, not cut), with its words.
        let done = events.filter { $0.kind == .playbackStop && $0.detail == "done" }.count
        LinkLoopbackWait.until { playbacks.withLock { $0.count } >= 1 }
        let reported = playbacks.withLock { $0 }
        #expect(!reported.isEmpty && done >= answers.count, "\(reported)")
        for e in reported {
            #expect(e.kind == .playback && !e.cut && e.text == "Your dentist appointment is noted." && e.playedMs > 500, "\(e)")
        }
    }

    @Test func anAnswerStreamedInSentencesIsSaidOnceInOrderAndHeardAsAWhole() throws {
        let playbacks = Mutex<[Microturn_Link_V1_Event]>([])
        let sentences = ["The museum opens at nine.", "It closes at five on weekdays."]
        let whole = sentences.joined(separator: " ") + " On Sundays it is closed."
        let server = try LinkServer(port: 0, security: .plaintext, events: { _, e in playbacks.withLock { $0.append(e) } }) { job, report in
            for (k, sentence) in sentences.enumerated() { report.part(sentence, number: k) }
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            r.part = UInt32(sentences.count)
            r.text = whole
            return r
        }
        defer { server.shutdown() }
        let events = try Self.run(server: "127.0.0.1:\(server.port)", lines: [("When is the museum open this week?", 1)])
        let answers = events.filter { $0.kind == .answer }.compactMap(\.text)
        #expect(answers == sentences + ["On Sundays it is closed."], "\(events.map(\.jsonLine))")
        // Each sentence heard to its end is reported with every word heard of the answer so far;
        // the last report holds the whole answer.
        LinkLoopbackWait.until { playbacks.withLock { $0.count } >= 3 }
        let reported = playbacks.withLock { $0 }.map(\.text)
        #expect(reported == [sentences[0], sentences.joined(separator: " "), whole], "\(reported)")
    }

    @Test func theRestOfAnAnswerTheUserTalkedOverIsNotSaid() throws {
        let playbacks = Mutex<[Microturn_Link_V1_Event]>([])
        // A first sentence long enough (about 10 s) that the user's second question, 5 s after the
        // first ends, falls inside it wherever the answer starts.
        let long = "The museum opens at nine in the morning and stays open until five in the evening on every weekday, "
            + "with a late opening on Thursdays until nine at night, and guided tours leave from the main hall every hour."
        let server = try LinkServer(port: 0, security: .plaintext, events: { _, e in playbacks.withLock { $0.append(e) } }) { job, report in
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            if job.task.taskID.hasSuffix("-1") {
                report.part(long, number: 0)
                report.part("Entry is free.", number: 1)
                r.part = 2
                r.text = long + " Entry is free. Enjoy your visit."
            } else {
                r.text = "It is closed on Sundays."
            }
            return r
        }
        defer { server.shutdown() }
        let events = try Self.run(server: "127.0.0.1:\(server.port)",
                                  lines: [("When is the museum open this week?", 1), ("Wait, what about Sundays?", 5)])
        let answers = events.filter { $0.kind == .answer }.compactMap(\.text)
        #expect(answers == [long, "It is closed on Sundays."], "\(events.map(\.jsonLine))")
        #expect(events.contains { $0.kind == .bargeIn })
        LinkLoopbackWait.until { playbacks.withLock { $0.count } >= 2 }
        let reported = playbacks.withLock { $0 }
        let cut = try #require(reported.first { $0.cut }, "\(reported)")
        #expect(cut.taskID.hasSuffix("-1") && !cut.text.isEmpty && long.hasPrefix(cut.text) && cut.text.count < long.count, "\(cut)")
    }

    @Test func aSlowAnswerGetsOneProgressLine() throws {
        // The server holds the answer until the run is over: the device (which waits a second of
        // wall time for an answer on the virtual clock, then goes on) says once that it is still on it.
        let release = DispatchSemaphore(value: 0)
        let server = try LinkServer(port: 0, security: .plaintext) { job, _ in
            _ = release.wait(timeout: .now() + 60)
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            r.text = "Late."
            return r
        }
        defer {
            release.signal()
            server.shutdown()
        }
        // Silence after the question runs past the progress line's time however long the question
        // and its turn end take (the input's end would otherwise end the session first).
        let events = try Self.run(server: "127.0.0.1:\(server.port)", lines: [("Which bus goes to the airport from here?", 1), ("", 6)],
                                  answerWait: 1)
        let looking = try #require(events.first { $0.kind == .replyStart }, "\(events.map(\.jsonLine))")
        #expect(looking.text == "Let me see.")
        let progress = events.filter { $0.kind == .progress }
        try #require(progress.count == 1, "\(events.map(\.jsonLine))")
        #expect(progress[0].text == "Still looking that up.")
        let request = try #require(events.first { $0.kind == .request })
        #expect(progress[0].time - request.time >= 3 && progress[0].time - request.time < 3.5)
        #expect(!events.contains { $0.kind == .answer })
    }

    @Test func neverMindStopsTheTaskOnTheServer() throws {
        // The server works until the device no longer wants the answer (or a minute: the test fails).
        let cancelled = Mutex<[String]>([])
        let server = try LinkServer(port: 0, security: .plaintext) { job, report in
            let deadline = Date().addingTimeInterval(60)
            while !report.cancellation.isCancelled && Date() < deadline { usleep(5_000) }
            if report.cancellation.isCancelled { cancelled.withLock { $0.append(job.task.taskID) } }
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            return r
        }
        defer { server.shutdown() }
        let events = try Self.run(server: "127.0.0.1:\(server.port)",
                                  lines: [("Which bus goes to the airport from here?", 1), ("never mind", 2)], answerWait: 1)
        let command = try #require(events.first { $0.kind == .command }, "\(events.map(\.jsonLine))")
        #expect(command.text == "never mind", "\(command)")
        #expect(events.contains { $0.kind == .replyStart && $0.text == "Okay, never mind." })
        #expect(events.contains { $0.kind == .request && $0.detail?.hasPrefix("dropped: ") == true })
        LinkLoopbackWait.until { !cancelled.withLock { $0 }.isEmpty }
        #expect(cancelled.withLock { $0 }.count == 1)
        #expect(!events.contains { $0.kind == .answer || $0.kind == .progress })
    }

    @Test func theServerRunsTheDevicesToolsOverTheLink() throws {
        // The task asks the device (TOOL_CALL) to start a timer, for its clock, and for a tool it
        // does not have; it answers with what the device said.
        let outcomes = Mutex<[String]>([])
        let capabilities = Mutex<Set<String>>([])
        let server = try LinkServer(port: 0, security: .plaintext) { job, report in
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            guard let device = report.device else { return r }
            capabilities.withLock { $0 = device.capabilities }
            let timer = device.run("set_timer", arguments: #"{"seconds": 2, "label": "tea"}"#)
            let clock = device.run("device_time", arguments: "{}")
            let reps = device.run("device_reps", arguments: "{}")
            outcomes.withLock { $0 = [timer.text, clock.text, reps.text] }
            if case let .result(json) = timer { r.text = DeviceTools.summary(json) }
            return r
        }
        defer { server.shutdown() }
        let events = try Self.run(server: "127.0.0.1:\(server.port)", lines: [("Please start a tea timer.", 1)])
        #expect(capabilities.withLock { $0 } == ["opus16k", "tool:timer", "tool:volume", "tool:time", "interjections"])
        let seen = outcomes.withLock { $0 }
        #expect(seen.count == 3 && seen[0].contains("\"seconds\":2") && seen[1].contains("unix_time"), "\(seen)")
        #expect(seen.count == 3 && seen[2].hasPrefix("error: this device counts no repetitions"), "\(seen)")
        let tools = events.filter { $0.kind == .tool }
        #expect(tools.map(\.text) == ["set_timer", "device_time", "device_reps"], "\(events.map(\.jsonLine))")
        let set = try #require(events.first { $0.kind == .answer && $0.text == "A tea timer for 2 seconds is set." }, "\(events.map(\.jsonLine))")
        // Two seconds after the device set it (at the next boundary, the user quiet), it says so.
        let done = try #require(events.first { $0.kind == .answer && $0.text == "Your tea timer is done." }, "\(events.map(\.jsonLine))")
        #expect(done.time - tools[0].time >= 2 && done.time > set.time)
    }

    @Test func aDeviceThatAsksSaysTheServersSpeech() throws {
        // The server speaks each sentence (espeak-ng, Opus) ahead of its RESULT; a different voice
        // from the device's, so the test can tell whose it hears.
        let speech = try SpeechStage(voice: .init(name: "en-us+f3", rateWpm: 140))
        let capabilities = Mutex<[String]>([])
        let server = try LinkServer(port: 0, security: .plaintext) { job, report in
            capabilities.withLock { $0 = job.capabilities }
            let stream = (try? speech.speak("The museum opens at nine.", streamID: job.task.taskID + "/0", send: report.send)) ?? 0
            report.part("The museum opens at nine.", number: 0, audio: stream > 0 ? job.task.taskID + "/0" : "")
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            r.part = 1
            r.text = "The museum opens at nine."
            return r
        }
        defer { server.shutdown() }
        let events = try Self.run(server: "127.0.0.1:\(server.port)", lines: [("When does the museum open?", 1)], serverSpeech: true)
        #expect(capabilities.withLock { $0 }.contains(LinkCapabilities.serverSpeech))
        let answers = events.filter { $0.kind == .answer }
        #expect(answers.count == 1 && answers[0].detail?.hasSuffix("the server's speech") == true, "\(events.map(\.jsonLine))")
        // Said for as long as the server's slower voice takes (140 words a minute, not the device's 175).
        let start = try #require(events.first { $0.kind == .playbackStart && $0.time >= answers[0].time })
        let stop = try #require(events.first { $0.kind == .playbackStop && $0.time > start.time })
        let expected = Double(try FreshSpeech(voice: .init(name: "en-us+f3", rateWpm: 140)).synthesize("The museum opens at nine.").count) / 16_000
        #expect(abs((stop.time - start.time) - expected) < 0.15, "\(stop.time - start.time) s, the server's speech lasts \(expected) s")
    }

    @Test func liveTranslationSendsEachSegmentAndSaysItsTranslationInAPause() throws {
        let tasks = Mutex<[Microturn_Link_V1_Task]>([])
        let server = try LinkServer(port: 0, security: .plaintext) { job, _ in
            let n = tasks.withLock { $0.append(job.task); return $0.count }
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            r.text = job.task.context[LinkTaskContext.translate] == "es" ? "Segmento \(n) traducido." : "The station is to the left."
            return r
        }
        defer { server.shutdown() }
        let events = try Self.run(server: "127.0.0.1:\(server.port)",
                                  lines: [("translate to spanish", 1), ("I would like a coffee with milk.", 3),
                                          ("And a glass of water.", 3), ("stop translating", 3), ("Where is the station?", 2)])
        let log = events.map(\.jsonLine)
        #expect(events.filter { $0.kind == .command }.compactMap(\.text) == ["translate to spanish", "stop translating"], "\(log)")
        // Segments get no acknowledgement: their translation is the reply. The question after the
        // mode ends gets one, and its answer.
        #expect(events.filter { $0.kind == .replyStart }.compactMap(\.text)
            == ["Translating to Spanish. Say stop translating to end.", "Translation off.", "Let me see."], "\(log)")
        let sent = tasks.withLock { $0 }
        #expect(sent.map { $0.context[LinkTaskContext.translate] ?? "" } == ["es", "es", ""], "\(sent)")
        let translations = events.filter { $0.kind == .translation }
        #expect(translations.compactMap(\.text) == ["Segmento 1 traducido.", "Segmento 2 traducido."], "\(log)")
        #expect(events.filter { $0.kind == .answer }.compactMap(\.text) == ["The station is to the left."])
        // Each said after its segment ended, in a pause: never over the user.
        let speech = Event.userSpeech(in: events)
        for (k, t) in translations.enumerated() {
            #expect(!speech.contains { $0.contains(t.time) }, "\(t.time) over the user: \(speech)")
            #expect(speech.count > k + 1 && t.time > speech[k + 1].upperBound, "\(t.time) before its segment ended: \(speech)")
        }
    }

    @Test func overTheUserATranslationIsSaidAtOnceDuckedAndTheUserGoesOn() throws {
        let server = try LinkServer(port: 0, security: .plaintext) { job, _ in
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            r.text = "Quisiera un cafe con leche, por favor, y un vaso de agua."
            return r
        }
        defer { server.shutdown() }
        var config = MicroturnConfig()
        config.translation.overUser = true
        // The second segment starts 0.6 s after the first ends: the user talks over the first
        // segment's translation, which goes on, and their speech is still taken as segments.
        let result = try Self.runWithOutput(server: "127.0.0.1:\(server.port)",
                                            lines: [("translate to spanish", 1), ("I would like a coffee with milk.", 4),
                                                    ("And a glass of water, and a piece of cake for my friend.", 0.6)],
                                            config: config)
        let events = result.report.events
        let log = events.map(\.jsonLine)
        let translations = events.filter { $0.kind == .translation }
        try #require(!translations.isEmpty, "\(log)")
        #expect(!events.contains { $0.kind == .bargeIn && $0.time > translations[0].time }, "the user's speech does not stop it: \(log)")
        let segments = events.filter { $0.kind == .request && $0.detail?.contains("for translation") == true }
        #expect(segments.count >= 2 && translations.count == segments.count, "every segment sent and its translation said: \(log)")
        // The first translation played to its end while the user spoke the second segment.
        let start = try #require(events.first { $0.kind == .playbackStart && $0.time >= translations[0].time })
        let stop = try #require(events.first { $0.kind == .playbackStop && $0.time > start.time })
        #expect(stop.detail == "done" && Event.userSpeech(in: events).contains { $0.overlaps(start.time...stop.time) && $0.lowerBound > translations[0].time },
                "\(log)")
        // Ducked: the translation plays about 12 dB below the device's own reply.
        func peak(after event: Event) -> Float {
            let start = Int(event.time * 16_000)
            return result.output[start..<min(result.output.count, start + 16_000)].map { abs($0) }.max() ?? 0
        }
        let reply = try #require(events.first { $0.kind == .replyStart && $0.text?.hasPrefix("Translating") == true })
        #expect(peak(after: translations[0]) < peak(after: reply) * 0.4, "\(peak(after: translations[0])) against \(peak(after: reply))")
    }

    @Test func withNoServerTheDeviceSaysItIsOffline() throws {
        // A port where nothing listens: the link never comes up.
        let events = try Self.run(server: "127.0.0.1:9", lines: [("Could you remind me to call the dentist?", 1)])
        let reply = events.first { $0.kind == .replyStart }?.text
        #expect(reply == "I'm offline right now; I'll answer when I'm back.", "\(events.map(\.jsonLine))")
        #expect(events.first { $0.kind == .request }?.detail?.contains("waits for the link") == true)
    }
}

final class LockedCount: Sendable {
    private let count = Mutex(0)
    func add(_ n: Int) { count.withLock { $0 += n } }
    var value: Int { count.withLock { $0 } }
}
