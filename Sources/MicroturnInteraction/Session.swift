import Foundation
import MicroturnAudio
import MicroturnCore

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

        public init(config: MicroturnConfig, echoPath: EchoPath.Spec? = nil, inputSamples: Int? = nil, maxTailSeconds: Double = 8) {
            self.config = config
            self.echoPath = echoPath
            self.inputSamples = inputSamples
            self.maxTailSeconds = maxTailSeconds
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
    }

    private let options: Options
    private let audio: DuplexAudio
    private let speechOut: SpeechOut
    private let listener: Listener
    private let echoPath: EchoPath?
    private let scheduler: MicroTurnScheduler
    private let composer = ReplyComposer()
    private let recognizer: CommandRecognizer?
    /// Speech that was not a command, for the background server.
    public let requests: PendingRequests
    private let onEvent: (Event) -> Void
    private var report = Report()

    private var speaking = false
    private var pendingTurnEnd: Int?       // capture sample where the answered user speech ended
    private var pendingBargeIn: Int?       // capture sample where the interrupting speech began
    private var turnIndex = 0
    private var interrupted = false
    private var lastReply: String?
    private var cutShort: [Float] = []     // what the last barge-in left unsaid
    private var paused: [Float]?           // what "pause" kept for "resume"
    private var recentFrames: [[Float]] = []  // the last frames as heard, to start a turn's audio at its onset
    private var userAudio: [Float] = []    // the pending user turn, as heard
    static let maxRequestSamples = 60 * ProcessingFormat.sampleRate
    static let maxCommandSamples = 10 * ProcessingFormat.sampleRate

    public init(options: Options, audio: DuplexAudio, synthesizer: SpeechSynthesizer,
                onEvent: @escaping (Event) -> Void = { _ in }) throws(AudioError) {
        self.options = options
        self.audio = audio
        self.onEvent = onEvent
        speechOut = SpeechOut(audio: audio, synthesizer: synthesizer)
        let c = options.config
        listener = try Listener(config: c)
        echoPath = options.echoPath.map(EchoPath.init(spec:))
        scheduler = MicroTurnScheduler(microTurnMs: c.turn.microTurnMs, policy: SilenceTurnPolicy(config: c))
        recognizer = c.commands.enabled ? try CommandRecognizer(phrases: c.commands.phrases, margin: c.commands.margin) : nil
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
            let completeCommand = follow(v, frame: index)

            handleNotes(upTo: t + n)
            if let s = v.startedAtFrame { emit(Event(time: seconds(s * n), kind: .speechStart)) }
            if let e = v.endedAtFrame { emit(Event(time: seconds(e * n), kind: .speechEnd)) }
            let observation = FrameObservation(index: index, frameIsSpeech: v.frameIsSpeech, inSpeech: v.inSpeech,
                                               utteranceStartFrame: v.startedAtFrame, deviceSpeaking: speaking,
                                               levelDb: v.features.levelDb, completeCommand: completeCommand)
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

    private func waitForPlayback(upTo position: Int) {
        // Only a dead playback thread takes this long; it must not hang the session.
        let deadline = MonotonicClock.now() + 30_000_000_000
        while audio.reference.totalWritten < position && MonotonicClock.now() < deadline {
            _ = audio.reference.waitForData(audio.reference.count + 1, timeoutMs: 50)
        }
    }

    /// Keeps the audio of the user's turn from its onset and streams it to the command
    /// recognizer. Returns whether what was said so far is exactly a command (checked in pauses).
    private func follow(_ v: VoiceActivityDetector.Result, frame index: Int) -> Bool {
        recentFrames.append(listener.cleaned)
        if recentFrames.count > 15 { recentFrames.removeFirst() }
        // A new utterance, or speech going on after a turn was just answered.
        if userAudio.isEmpty, let start = v.startedAtFrame ?? (v.frameIsSpeech ? index : nil) {
            // The utterance began a few frames ago: take it from there, with 200 ms of what came
            // before (the recognizer needs to hear the silence around the words).
            let back = min(recentFrames.count, index - start + 1 + 10)
            userAudio = recentFrames.suffix(back).flatMap { $0 }
            recognizer?.begin()
            recognizer?.feed(userAudio)
            return false
        }
        guard !userAudio.isEmpty else { return false }
        // Bounded: a request keeps its first minute, and no command is longer than a few seconds.
        if userAudio.count < Self.maxRequestSamples { userAudio += listener.cleaned }
        if userAudio.count < Self.maxCommandSamples { recognizer?.feed(listener.cleaned) }
        return !v.frameIsSpeech && recognizer?.partialCommand() != nil
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
            turnIndex += 1
            emit(Event(time: seconds(now), kind: .turnEnd,
                       detail: "user spoke \(Event.format(seconds(speechStart)))-\(Event.format(seconds(speechEnd))) s"))
            let heard = recognizer?.finish()
            if let command = heard?.phrase {
                emit(Event(time: seconds(now), kind: .command, text: command,
                           detail: String(format: "confidence %.2f", heard?.confidence ?? 0)))
            }
            let reply = composer.reply(
                to: .init(index: turnIndex - 1, durationSeconds: seconds(speechEnd - speechStart), interrupted: interrupted,
                          command: heard?.phrase),
                context: .init(lastReply: lastReply, hasPausedSpeech: paused != nil, hasCutSpeech: !cutShort.isEmpty,
                               backchannelMaxSeconds: Double(options.config.bargeIn.backchannelMaxMs) / 1000))
            perform(reply.action, speechEnd: speechEnd, now: now)
            interrupted = false
            userAudio.removeAll()
            // "Repeat that" repeats what the device last said about something, not "Louder."
            let remember = reply.action == .delegate || (reply.action == .none && heard?.phrase != "repeat that")
            if let text = reply.text { say(text, speechEnd: speechEnd, now: now, remember: remember) }
        }
    }

    private func perform(_ action: ReplyComposer.Action, speechEnd: Int, now: Int) {
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
        onEvent(event)
    }

    private func seconds(_ samples: Int) -> Double { ProcessingFormat.seconds(samples) }
}
