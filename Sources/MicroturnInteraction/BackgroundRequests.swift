import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnLink
import Synchronization

/// Requests for the background server over the link (`link.server`): the user's speech goes up as
/// Opus in AUDIO frames, then a TASK; answers come back on the link's thread and wait in an inbox
/// until the frame loop takes them and queues them to be said. While the link is down, a request
/// waits in the client's outbox and the user is told so; its answer, when it comes, is said as a
/// late one.
public final class BackgroundRequests {
    static let offlineReply = "I'm offline right now; I'll answer when I'm back."
    /// Said at once when a request goes to the server: short, so the answer can follow it soon.
    static let lookingReply = "Let me see."
    static let lateIntro = "About what you asked earlier: "

    private let client: LinkClient
    private let inbox: Inbox
    private let encoder: Opus.Encoder
    private let deviceId: String
    private let takesInterjections: Bool
    /// How translations are said (in a pause, or under the user).
    private let translationSetting: MicroturnConfig.Translation
    /// On the virtual clock a request waits (wall time, at most this long) for its answer, so that
    /// a run on files says it at the same point every time, as an instant server would.
    private let awaitAnswerSeconds: Double?
    /// Task ids asked while the link was up: answered as they come. Any other answer (asked
    /// offline, or before this process restarted) is introduced as late.
    private var askedOnline: Set<String> = []
    private var counter = 0
    private let session = UUID().uuidString.prefix(8)

    /// Answers and tool calls from the link's thread to the frame loop.
    final class Inbox: Sendable {
        let answers = Mutex<[Microturn_Link_V1_Result]>([])
        let speech = ServerSpeech()
        let calls = Mutex<[Microturn_Link_V1_ToolCall]>([])
        let arrived = DispatchSemaphore(value: 0)
    }

    /// Runs a tool the server asks for, on the frame loop's thread (the session sets it).
    var runTool: ((Microturn_Link_V1_ToolCall) -> Microturn_Link_V1_ToolResult)?

    /// `tools`: the capabilities the device offers the server ("tool:timer", ...).
    init(config: MicroturnConfig.Link, translation: MicroturnConfig.Translation, awaitAnswerSeconds: Double?,
         tools: [String]) throws(AudioError) {
        let inbox = Inbox()
        self.inbox = inbox
        translationSetting = translation
        encoder = try Opus.Encoder(settings: .init(link: config))
        self.awaitAnswerSeconds = awaitAnswerSeconds
        takesInterjections = config.interjections
        do {
            var options = try LinkClient.Options(config: config)
            options.capabilities += tools + (config.serverSpeech ? [LinkCapabilities.serverSpeech] : [])
                + (config.interjections ? [LinkCapabilities.interjections] : [])
            deviceId = options.deviceId
            client = try LinkClient(options: options, onToolCall: { call in
                inbox.calls.withLock { $0.append(call) }
                inbox.arrived.signal()
            }, onSpeech: { audio in inbox.speech.add(audio) }) { answer in
                inbox.answers.withLock { $0.append(answer) }
                inbox.arrived.signal()
            }
        } catch {
            throw .fileIO(path: config.directory, reason: "the link: \(error)")
        }
        client.start()
        // On the virtual clock the run also waits (at most as long) for the link to come up or
        // fail, as it would be at once for an instant server: whether a request finds the link up
        // is then decided by the server, not by how busy the machine is.
        if let wait = awaitAnswerSeconds {
            let deadline = Date().addingTimeInterval(wait)
            while !client.isUp && client.lastError == nil && Date() < deadline { usleep(2_000) }
        }
    }

    func stop() { client.stop() }

    var isUp: Bool { client.isUp }

    /// The link's state as the frame loop last saw it (down at the start, while it connects);
    /// asked every frame, so the session learns of a change within one frame of the client.
    private var lastSeenUp = false

    /// The link's new state and why it is down, if it changed since the last call.
    func linkChange() -> (up: Bool, reason: String?)? {
        let up = client.isUp
        guard up != lastSeenUp else { return nil }
        lastSeenUp = up
        return (up, up ? nil : client.lastError)
    }

    /// Sends a request: its speech (16 kHz) and what the device heard of it; with `translateTo`,
    /// a segment of live translation. Returns its task id.
    func send(_ audio: [Float], transcript: String?, endUs: UInt64, at now: Int,
              translateTo language: TranslationLanguage? = nil) throws(AudioError) -> String {
        counter += 1
        let taskId = "\(deviceId)-\(session)-\(counter)"
        let bodies = try Self.request(taskId: taskId, audio: audio, transcript: transcript, endUs: endUs, encoder: encoder,
                                      context: language.map { [LinkTaskContext.translate: $0.code] } ?? [:])
        let online = client.isUp
        unanswered.insert(taskId)
        translations[taskId] = language
        if online {
            askedOnline.insert(taskId)
            // A translation gets no progress line: the user is talking on meanwhile.
            if language == nil { awaiting[taskId] = now }
        }
        do { try client.submit(.init(taskId: taskId, bodies: bodies)) } catch {
            throw .fileIO(path: "the link outbox", reason: "the request could not be kept (\(error))")
        }
        if online, let wait = awaitAnswerSeconds { waitForAnswer(taskId, seconds: wait) }
        return taskId
    }

    /// A request's frames: its speech (16 kHz) as Opus in AUDIO frames of 3 packets, then the
    /// TASK with what the device heard of it (`endUs`: the end of the speech, capture clock).
    public static func request(taskId: String, audio: [Float], transcript: String?, endUs: UInt64,
                               encoder: Opus.Encoder, context: [String: String] = [:]) throws(AudioError) -> [LinkBody] {
        var bodies: [LinkBody] = []
        let usable = audio.count / Opus.frameSamples * Opus.frameSamples
        let chunk = LinkAudio.packetsPerFrame * Opus.frameSamples
        for start in stride(from: 0, to: usable, by: chunk) {
            var a = Microturn_Link_V1_Audio()
            a.streamID = taskId
            a.firstPacket = UInt32(start / Opus.frameSamples)
            a.captureTimeUs = endUs &- UInt64(usable - start) * 1_000_000 / UInt64(ProcessingFormat.sampleRate)
            for f in stride(from: start, to: min(start + chunk, usable), by: Opus.frameSamples) {
                a.opus.append(Data(try encoder.encode(audio[f..<f + Opus.frameSamples])))
            }
            a.end = start + chunk >= usable
            bodies.append(.audio(a))
        }
        var task = Microturn_Link_V1_Task()
        task.taskID = taskId
        task.streamID = taskId
        task.transcript = transcript ?? ""
        task.timeUs = endUs
        task.context = context
        bodies.append(.task(task))
        return bodies
    }

    /// An interjection (unasked) is worth saying within this long of its coming, or not at all.
    static let interjectionSeconds = 4.0

    /// Answers (and sentences of answers, as they stream) and interjections that have come, as
    /// utterances for the queue (said when the user is done), in order. A task's final answer
    /// holds all of it: what its parts already said is not said again. Nothing more is said of an
    /// answer the user talked over.
    func takeAnswers(at now: Int) -> [Utterance] {
        inbox.answers.withLock { all in
            defer { all.removeAll() }
            return all.compactMap { r in
                if r.interjection {
                    return r.text.isEmpty ? nil : Utterance(text: r.text, kind: .interjection, condition: .userDone,
                                                            deadline: now + ProcessingFormat.samples(seconds: Self.interjectionSeconds))
                }
                let id = r.taskID
                awaiting[id] = nil
                var text = r.text
                let before = said[id] ?? ""
                let translation = translations[id]
                var late = before.isEmpty && !askedOnline.contains(id)
                // A translation that comes late (asked offline, or before a restart) is not worth
                // saying; an answer is, introduced as late.
                let stale = late && translation != nil
                if r.final {
                    translations[id] = nil
                    client.delivered(id)
                    said[id] = nil
                    unanswered.remove(id)
                    askedOnline.remove(id)
                    if cut.remove(id) != nil || stale { return nil }
                    if !before.isEmpty && text.hasPrefix(before) {
                        text = text.dropFirst(before.count).trimmingCharacters(in: .whitespaces)
                        late = false
                    }
                } else {
                    guard !cut.contains(id), !stale else { return nil }
                    said[id] = before.isEmpty ? text : before + " " + text
                }
                // An empty final answer closes a request the user no longer wanted (its task was
                // cancelled), or one whose parts said it all.
                guard !text.isEmpty else { return nil }
                let intro = late ? Self.lateIntro : ""
                var u = Utterance(text: intro + text, kind: .answer, condition: .userDone, deadline: .max,
                                  taskId: id, answerStart: intro.count, answerBefore: before)
                // The server's speech is of the text this RESULT adds (for a final one after its
                // parts, of what follows them): used when that is exactly what is said here.
                let audio = r.audioStreamID.isEmpty ? nil : inbox.speech.take(r.audioStreamID)
                if let audio, intro.isEmpty, !r.final || r.part == 0 || !before.isEmpty { u.audio = audio }
                if let translation {
                    // Said in the user's next pause (or at once under their speech, ducked), in the
                    // language's voice.
                    u.kind = .translation
                    u.condition = translationSetting.overUser ? .any : .userSilent
                    u.gainDb = translationSetting.overUser ? translationSetting.duckDb : 0
                    u.voice = translation.voice
                }
                return u
            }
        }
    }

    /// Requests asked online whose answer has not begun to come, by when they were asked
    /// (capture sample): one short line tells the user that a slow one is still being worked on.
    private var awaiting: [String: Int] = [:]
    /// Seconds without an answer before the device says it is still on it.
    static let progressAfterSeconds = 3.0
    static let progressReply = "Still looking that up."

    /// The progress line, once for the requests whose answer is late at capture sample `now` (one
    /// line for all of them: never chatter).
    func progressDue(at now: Int) -> Utterance? {
        let late = ProcessingFormat.samples(seconds: Self.progressAfterSeconds)
        guard awaiting.values.contains(where: { now - $0 >= late }) else { return nil }
        awaiting = awaiting.filter { now - $0.value < late }
        return Utterance(text: Self.progressReply, kind: .progress, condition: .userDone, deadline: now + late)
    }

    /// The user talked over `taskId`'s answer (or said "never mind"): the rest of it is not said.
    private var cut: Set<String> = []
    /// Requests of this run whose final answer has not come.
    private var unanswered: Set<String> = []

    /// Segments of live translation whose final translation has not come, and their language.
    private var translations: [String: TranslationLanguage] = [:]

    /// "Never mind": no answer still to come is said, and the server is told to stop working on
    /// them (CANCEL). Returns their task ids.
    func cancelAll() -> [String] { cancel(unanswered.sorted()) }

    /// The user went on with the turn `taskId` asked about: it is asked again whole, and if its
    /// answer has not come, the server is told to stop and what comes of it is not said (what came
    /// already is the session's to drop).
    func withdraw(_ taskId: String) {
        if unanswered.contains(taskId) { _ = cancel([taskId]) }
    }

    /// "Stop translating": the same for the translations still to come.
    func cancelTranslations() -> [String] { cancel(translations.keys.filter(unanswered.contains).sorted()) }

    private func cancel(_ ids: [String]) -> [String] {
        for id in ids {
            cut.insert(id)
            awaiting[id] = nil
            var e = Microturn_Link_V1_Event()
            e.kind = .cancel
            e.taskID = id
            client.send(.event(e))
        }
        return ids
    }
    /// Each task's answer said so far (its parts, as queued).
    private var said: [String: String] = [:]

    /// Tells the server how much of an answer the user heard (all of it, or up to a barge-in), so
    /// that its memory of the conversation holds what was said, not what was meant to be. A cut
    /// one's later sentences are not said.
    func reportPlayback(of u: Utterance, heardFraction: Double, playedMs: Int, cut wasCut: Bool) {
        guard let taskId = u.taskId else { return }
        let answer = String(u.text.dropFirst(u.answerStart))
        var heard = answer
        if wasCut {
            heard = Self.prefix(of: answer, fraction: (heardFraction * Double(u.text.count) - Double(u.answerStart)) / Double(max(1, answer.count)))
            // Its final answer may still come (or has come): it is not said either.
            if unanswered.contains(taskId) { cut.insert(taskId) }
        }
        var e = Microturn_Link_V1_Event()
        e.kind = .playback
        e.taskID = taskId
        e.playedMs = UInt32(clamping: playedMs)
        e.cut = wasCut
        e.text = [u.answerBefore, heard].filter { !$0.isEmpty }.joined(separator: " ")
        client.send(.event(e))
    }

    /// The words of `text` within the first `fraction` of its characters (speech runs about evenly
    /// through a sentence's letters).
    static func prefix(of text: String, fraction: Double) -> String {
        let cut = Int((max(0, min(1, fraction)) * Double(text.count)).rounded(.down))
        let head = text.prefix(cut)
        guard cut < text.count else { return text }
        // Only whole words: a word cut in the middle was not heard as one.
        if let space = head.lastIndex(of: " ") { return String(head[..<space]) }
        return ""
    }

    /// A set of exercise ended: its count and its repetitions' durations go to the server (which
    /// may remark on them).
    func reportSet(count: Int, durations: [Double], at now: Int) {
        var e = Microturn_Link_V1_Event()
        e.kind = .repetition
        e.count = UInt32(clamping: count)
        e.timeUs = UInt64(now) * 1_000_000 / UInt64(ProcessingFormat.sampleRate)
        e.text = "[" + durations.filter(\.isFinite).map { String(format: "%.3f", $0) }.joined(separator: ",") + "]"
        client.send(.event(e))
        // On the virtual clock, a remark the server makes on it comes at once, as from an instant
        // server. A server that makes them answers every set (an empty remark: none this time).
        if takesInterjections, client.isUp, client.serverOffers.contains(LinkCapabilities.interjections), let wait = awaitAnswerSeconds {
            let deadline = DispatchTime.now() + wait
            while !inbox.answers.withLock({ $0.contains { $0.interjection } }) {
                if inbox.arrived.wait(timeout: deadline) == .timedOut { return }
            }
        }
    }

    /// Runs the tool calls that have come and sends their results.
    func serveToolCalls() {
        let calls = inbox.calls.withLock { all in
            defer { all.removeAll() }
            return all
        }
        for call in calls {
            var result = runTool?(call) ?? Microturn_Link_V1_ToolResult()
            if runTool == nil {
                result.callID = call.callID
                result.error = "this device runs no tools"
            }
            client.send(.toolResult(result))
        }
    }

    private func waitForAnswer(_ taskId: String, seconds: Double) {
        let deadline = DispatchTime.now() + seconds
        while !inbox.answers.withLock({ $0.contains { $0.taskID == taskId && $0.final } }) {
            // The task may need the device's tools before it can answer.
            serveToolCalls()
            if inbox.arrived.wait(timeout: deadline) == .timedOut { return }
        }
    }
}
