import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnVision

/// The processing loop of one device: takes 20 ms frames from capture, cancels the echo of what
/// playback wrote, detects speech, runs the micro-turn scheduler and acts on its decisions.
/// It runs on the calling thread (never on the Swift cooperative pool), until `shouldStop` says so
/// or a file input has been heard and answered.
public final class Session {
    public struct Options: Sendable {
        public var config: MicroturnConfig
        /// Simulates the room's acoustic echo of the loudspeaker into the microphone.
        public var echoPath: EchoPath.Spec?
        /// Length of a file input in 16 kHz samples: the session ends after it (and after the reply to it).
        public var inputSamples: Int?
        /// After a file input ends, how long the device may go on speaking before the session ends.
        public var maxTailSeconds: Double
        /// The report keeps at most this many of the latest events and speech stops (nil: all; a
        /// file is finite, a live session that runs for months is not).
        public var recordLimit: Int?

        public init(config: MicroturnConfig, echoPath: EchoPath.Spec? = nil, inputSamples: Int? = nil, maxTailSeconds: Double = 8,
                    recordLimit: Int? = nil) {
            self.config = config
            self.echoPath = echoPath
            self.inputSamples = inputSamples
            self.maxTailSeconds = maxTailSeconds
            self.recordLimit = recordLimit
        }
    }

    public struct Report: Sendable {
        public var events: [Event] = []
        public var frames = 0
        public var turns: Int { events.filter { $0.kind == .turnEnd }.count }
        public var xruns: Int { events.filter { $0.kind == .xrun }.count }
        /// End of user speech to the first sample of the reply, per answered turn.
        public var turnLatencies: [Double] { events.compactMap { $0.kind == .playbackStart ? $0.latency : nil } }
        /// Start of the interrupting speech to the end of the device's speech, per barge-in.
        public var bargeInStopLatencies: [Double] {
            events.compactMap { $0.kind == .playbackStop && $0.detail == "cut" ? $0.latency : nil }
        }
        /// Every stop in the user's speech: when (seconds), the cues at it, and the model's log-odds
        /// that the turn was over (nil when the model is off).
        public struct SpeechStop: Sendable {
            public var time: Double
            public var cues: TurnEndCues.Features
            public var logit: Double?
            /// How long the silence lasted, seconds (nil: the turn was taken or the input ended first).
            public var silence: Double?
        }
        public var speechStops: [SpeechStop] = []
    }

    private let options: Options
    private let audio: DuplexAudio
    private let speechOut: SpeechOut
    private let listener: Listener
    private let echoPath: EchoPath?
    private let policy: TurnTakingPolicy
    private let scheduler: MicroTurnScheduler
    private let composer = ReplyComposer()
    private let userSpeech: UserSpeech
    private let turnEndModel: TurnEndModel?
    /// Speech that was not a command, for the background server.
    public let requests: PendingRequests
    private let onEvent: (Event) -> Void
    private var report = Report()
    /// Repetitions counted from a camera or a video file (nil: none).
    private let repetitions: (any RepetitionSource)?

    private var speaking = false
    private var pendingTurnEnd: Int?       // capture sample where the answered user speech ended
    private var pendingBargeIn: Int?       // capture sample where the interrupting speech began
    private var turnIndex = 0
    private var interrupted = false
    private var lastReply: String?
    private var cutShort: [Float] = []     // what the last barge-in left unsaid
    private var paused: [Float]?           // what "pause" kept for "resume"
    private var turnEndLogit: Double?      // the model's say on the silence going on now
    private var silentSince: Int?          // capture sample where the silence going on began
    private var murmuring = false          // the device's "mm-hm" is playing
    private var murmured = false           // ... and has been, in this user turn
    private var counting = false           // a spoken count is playing

    public init(options: Options, audio: DuplexAudio, synthesizer: SpeechSynthesizer, repetitions: (any RepetitionSource)? = nil,
                onEvent: @escaping (Event) -> Void = { _ in }) throws(AudioError) {
        self.options = options
        self.repetitions = repetitions
        self.audio = audio
        self.onEvent = onEvent
        speechOut = SpeechOut(audio: audio, synthesizer: synthesizer)
        let c = options.config
        listener = try Listener(config: c)
        echoPath = options.echoPath.map(EchoPath.init(spec:))
        policy = TurnTakingPolicy(config: c)
        scheduler = MicroTurnScheduler(microTurnMs: c.turn.microTurnMs, policy: policy)
        userSpeech = try UserSpeech(config: c)
        turnEndModel = c.turn.predict ? TurnEndModel.fitted : nil
        requests = PendingRequests(directory: c.commands.requestsDirectory.isEmpty ? nil : c.commands.requestsDirectory)
    }

    /// Runs until `shouldStop()` returns true (checked every frame) or a file input is done.
    public func run(shouldStop: @escaping () -> Bool = { false }) -> Report {
        audio.start()
        defer { audio.stop() }
        let n = ProcessingFormat.frameSamples
        var frame = [Float](repeating: 0, count: n)
        var references: [Float] = []
        var referenceStart = 0  // playback stream position of references[0]
        var scratch = [Float](repeating: 0, count: 4096)
        var index = 0
        while !shouldStop() {
            if !audio.captured.waitForData(n, timeoutMs: 100) { continue }
            frame.withUnsafeMutableBufferPointer { _ = audio.captured.read(into: $0) }
            let t = index * n

            // On the virtual clock, let playback reach exactly as far as it may (its buffer ahead of
            // this frame) before anything is decided, so that speech queued or cut now lands at the
            // same stream position on every run.
            if audio.setup.pacing == .virtualClock { waitForPlayback(upTo: t + n + audio.playbackLead) }
            // What playback wrote for these very samples: the echo canceller's reference.
            while true {
                let got = scratch.withUnsafeMutableBufferPointer { audio.reference.read(into: $0) }
                if got == 0 { break }
                references.append(contentsOf: scratch[0..<got])
            }
            let from = t - audio.referenceOffset - referenceStart
            var played = [Float](repeating: 0, count: n)
            for i in 0..<n where from + i >= 0 && from + i < references.count { played[i] = references[from + i] }
            let drop = min(max(0, from), references.count)
            references.removeFirst(drop)
            referenceStart += drop

            let mic = echoPath?.microphone(near: frame, played: played) ?? frame
            let v = listener.hear(microphone: mic, played: played)
            let heard = userSpeech.hear(v, cleaned: listener.cleaned, frame: index)
            weigh(heard, isSpeech: v.frameIsSpeech, at: t)
            murmurIfDue(isSpeech: v.frameIsSpeech, at: t)
            countIfDue(isSpeech: v.frameIsSpeech, inSpeech: v.inSpeech, at: t)

            handleNotes(upTo: t + n)
            if let s = v.startedAtFrame { emit(Event(time: seconds(s * n), kind: .speechStart)) }
            if let e = v.endedAtFrame { emit(Event(time: seconds(e * n), kind: .speechEnd)) }
            let observation = FrameObservation(index: index, frameIsSpeech: v.frameIsSpeech, inSpeech: v.inSpeech,
                                               utteranceStartFrame: v.startedAtFrame, deviceSpeaking: speaking,
                                               levelDb: v.features.levelDb, completeCommand: heard.completeCommand,
                                               turnEndLogit: turnEndLogit)
            for decision in scheduler.onFrame(observation) { act(on: decision, now: t + n) }
            speechOut.pump()
            index += 1
            report.frames = index
            audio.markProcessed(upTo: index * n)
            if let input = options.inputSamples, index * n >= input {
                let idle = !speaking && speechOut.backlog == 0 && pendingTurnEnd == nil
                if idle || index * n >= input + ProcessingFormat.samples(seconds: options.maxTailSeconds) { break }
            }
        }
        handleNotes(upTo: .max)
        return report
    }

    /// Keeps the turn-end model's say on the silence going on (from the cues where the user's
    /// speech stopped), and a record of every stop.
    private func weigh(_ heard: UserSpeech.Heard, isSpeech: Bool, at t: Int) {
        if isSpeech {
            // The silence that ends here belongs to the last stop recorded.
            if let since = silentSince, let k = report.speechStops.indices.last, report.speechStops[k].time == seconds(since) {
                report.speechStops[k].silence = seconds(t - since)
            }
            silentSince = nil
            turnEndLogit = nil
        }
        if let cues = heard.stop {
            let logit = turnEndModel?.logit(cues)
            turnEndLogit = logit
            silentSince = t
            report.speechStops.append(.init(time: seconds(t), cues: cues, logit: logit))
            trim(&report.speechStops)
        }
    }

    /// The device's own backchannel: "mm-hm" in a pause of a long user turn, when the model expects
    /// the user to go on for at least another half second; never started over speech, and cut the
    /// moment the user speaks again.
    private func murmurIfDue(isSpeech: Bool, at t: Int) {
        if murmuring && isSpeech {
            speechOut.cancel(at: t + ProcessingFormat.frameSamples)
            murmuring = false
            return
        }
        let c = options.config.turn
        guard c.backchannel, !speaking, !murmuring, !murmured, let since = silentSince, let logit = turnEndLogit,
              let talked = report.speechStops.last?.cues.duration, talked * 1000 >= Double(c.backchannelAfterMs) else { return }
        let silence = seconds(t - since)
        let wait = Double(policy.waits.silenceMs(logit: logit)) / 1000
        guard silence >= 0.3, wait - silence >= 0.5 else { return }
        murmuring = true
        murmured = true
        emit(Event(time: seconds(t), kind: .backchannel, text: ReplyComposer.backchannel))
        do { try speechOut.say(ReplyComposer.backchannel) } catch {
            murmuring = false
            emit(Event(time: seconds(t), kind: .deviceError, detail: "\(error)"))
        }
    }

    /// Repetitions counted by now, said aloud as `reps.announce` and `reps.target` ask: never
    /// started while the user speaks (or has a turn going) or the device is saying something else
    /// (that count is skipped: a late count is no count), and cut the moment the user speaks.
    private func countIfDue(isSpeech: Bool, inSpeech: Bool, at t: Int) {
        guard let video = repetitions else { return }
        let n = ProcessingFormat.frameSamples
        if counting && isSpeech {
            speechOut.cancel(at: t + n)
            counting = false
        }
        if let error = video.advance(to: seconds(t + n)) {
            emit(Event(time: seconds(t), kind: .deviceError, detail: "video: \(error)"))
        }
        // Repetitions can come several at once (a set starts on its second); only the last of
        // them is said.
        let said = video.tally.takeEvents().compactMap { event -> String? in
            guard case let .repetition(number, _, _, _) = event else { return nil }
            return Self.announcement(number, options.config.reps)
        }
        for (k, text) in said.enumerated() {
            let busy = k < said.count - 1 ? "a later count came with it"
                : isSpeech || inSpeech || silentSince != nil ? "the user is speaking"
                : speaking || murmuring || counting || pendingTurnEnd != nil ? "the device is speaking" : nil
            if let busy {
                emit(Event(time: seconds(t), kind: .count, text: text, detail: "skipped: \(busy)"))
                continue
            }
            counting = true
            emit(Event(time: seconds(t), kind: .count, text: text))
            do { try speechOut.say(text) } catch {
                counting = false
                emit(Event(time: seconds(t), kind: .deviceError, detail: "\(error)"))
            }
        }
    }

    /// What to say for repetition `number`, if anything.
    static func announcement(_ number: Int, _ reps: MicroturnConfig.Reps) -> String? {
        guard reps.announce != "off" else { return nil }
        if reps.target > 0 {
            if number == reps.target { return "\(number). Done." }
            if number == reps.target - 1 { return "Last one." }
            if reps.target >= 6 && number == reps.target / 2 { return "Halfway." }
        }
        return reps.announce == "every" || number % 5 == 0 ? "\(number)." : nil
    }

    private func waitForPlayback(upTo position: Int) {
        // Only a dead playback thread takes this long; it must not hang the session.
        let deadline = MonotonicClock.now() + 30_000_000_000
        while audio.reference.totalWritten < position && MonotonicClock.now() < deadline {
            _ = audio.reference.waitForData(audio.reference.count + 1, timeoutMs: 50)
        }
    }

    private func act(on decision: TurnDecision, now: Int) {
        switch decision {
        case let .bargeIn(speechStart):
            guard speaking else { return }
            cutShort = speechOut.cancel(at: now)
            speaking = false
            interrupted = true
            pendingBargeIn = speechStart
            emit(Event(time: seconds(now), kind: .bargeIn, detail: "user speech began at \(Event.format(seconds(speechStart))) s"))
        case let .turnEnd(speechEnd, speechStart):
            // The answer replaces a murmur or a count still playing.
            if murmuring || counting {
                speechOut.cancel(at: now)
                murmuring = false
                counting = false
            }
            turnIndex += 1
            silentSince = nil
            murmured = false
            emit(Event(time: seconds(now), kind: .turnEnd,
                       detail: "user spoke \(Event.format(seconds(speechStart)))-\(Event.format(seconds(speechEnd))) s"))
            let (heard, userAudio) = userSpeech.finish()
            if let command = heard?.phrase {
                emit(Event(time: seconds(now), kind: .command, text: command,
                           detail: String(format: "confidence %.2f", heard?.confidence ?? 0)))
            }
            let reply = composer.reply(
                to: .init(index: turnIndex - 1, durationSeconds: seconds(speechEnd - speechStart), interrupted: interrupted,
                          command: heard?.phrase),
                context: .init(lastReply: lastReply, hasPausedSpeech: paused != nil, hasCutSpeech: !cutShort.isEmpty,
                               backchannelMaxSeconds: Double(options.config.bargeIn.backchannelMaxMs) / 1000,
                               repetitions: repetitions?.tally.total ?? 0))
            perform(reply.action, speechEnd: speechEnd, userAudio: userAudio, now: now)
            interrupted = false
            // "Repeat that" repeats what the device last said about something, not "Louder."
            let remember = reply.action == .delegate || (reply.action == .none && heard?.phrase != "repeat that")
            if let text = reply.text { say(text, speechEnd: speechEnd, now: now, remember: remember) }
        }
    }

    private func perform(_ action: ReplyComposer.Action, speechEnd: Int, userAudio: [Float], now: Int) {
        switch action {
        case .none:
            break
        case .halt:
            if speaking { speechOut.cancel(at: now) }
            speaking = false
            paused = nil
        case .pause:
            paused = speaking ? speechOut.cancel(at: now) : cutShort
            speaking = false
        case .resume:
            if let rest = paused, !rest.isEmpty {
                pendingTurnEnd = speechEnd
                speaking = true
                speechOut.play(rest)
            }
            paused = nil
        case .continueSpeaking:
            emit(Event(time: seconds(now), kind: .resume, detail: "a backchannel, going on"))
            pendingTurnEnd = speechEnd
            speaking = true
            speechOut.play(cutShort)
        case let .changeVolume(db):
            speechOut.changeGain(by: db)
        case .delegate:
            do {
                let r = try requests.add(time: seconds(speechEnd), audio: userAudio, transcript: nil)
                emit(Event(time: seconds(now), kind: .request, detail: "request \(r.id), \(Event.format(seconds(r.audio.count))) s of speech"))
            } catch {
                emit(Event(time: seconds(now), kind: .deviceError, detail: "\(error)"))
            }
        }
        cutShort = []
    }

    private func say(_ text: String, speechEnd: Int, now: Int, remember: Bool) {
        emit(Event(time: seconds(now), kind: .replyStart, text: text))
        pendingTurnEnd = speechEnd
        speaking = true
        if remember { lastReply = text }
        do { try speechOut.say(text) } catch {
            speaking = false
            pendingTurnEnd = nil
            emit(Event(time: seconds(now), kind: .deviceError, detail: "\(error)"))
        }
    }

    /// Device notes up to capture time `now` (later ones wait: on the virtual clock playback may
    /// already be a little ahead, and the session must see things in capture-clock order).
    private var heldNotes: [DeviceNote] = []

    private func handleNotes(upTo now: Int) {
        heldNotes += audio.takeNotes()
        let due = heldNotes.filter { $0.time < now }.sorted { $0.time < $1.time }
        heldNotes.removeAll { $0.time < now }
        for note in due {
            let time = seconds(note.time)
            switch note.kind {
            case .playbackStart:
                speechOut.startedAt = note.time
                let latency = pendingTurnEnd.map { seconds(note.time - $0) }
                pendingTurnEnd = nil
                emit(Event(time: time, kind: .playbackStart, latency: latency))
            case let .playbackStop(flushed):
                let latency = flushed ? pendingBargeIn.map { seconds(note.time - $0) } : nil
                if flushed { pendingBargeIn = nil }
                murmuring = false
                counting = false
                // Speech that ran out while more is being synthesized is a gap, not the end.
                if !flushed && speechOut.backlog == 0 && pendingTurnEnd == nil { speaking = false }
                emit(Event(time: time, kind: .playbackStop, latency: latency, detail: flushed ? "cut" : "done"))
            case .xrun:
                emit(Event(time: time, kind: .xrun, detail: "\(note.device): \(note.message)"))
            case .error, .reopened:
                emit(Event(time: time, kind: .deviceError, detail: "\(note.device): \(note.message)"))
            }
        }
    }

    private func emit(_ event: Event) {
        report.events.append(event)
        trim(&report.events)
        onEvent(event)
    }

    /// Keeps the latest `recordLimit` entries (trimmed in batches, so appending stays cheap).
    private func trim<T>(_ list: inout [T]) {
        if let limit = options.recordLimit, list.count > 2 * limit { list.removeFirst(list.count - limit) }
    }

    private func seconds(_ samples: Int) -> Double { ProcessingFormat.seconds(samples) }
}
