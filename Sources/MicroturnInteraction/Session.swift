import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnVision

/// The processing loop of one device: takes 20 ms frames from capture, cancels the echo of what
/// playback wrote, detects speech, runs the micro-turn scheduler and acts on its decisions.
/// It runs on the calling thread (never on the Swift cooperative pool), until `shouldStop` says so
/// or a file input has been heard and answered.
///
/// Its parts each have one home: what the device is playing is the `Floor`; what it means to say
/// besides replies waits in the scheduler's `UtteranceQueue` (spoken counts from `SpokenCounts`,
/// murmurs from `DeviceBackchannel`); what it does at a turn end or a barge-in is in
/// Session+Decisions.swift; speech is synthesized off this thread by `SpeechOut`.
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
        /// The device's own model (`model.path`, loaded by the caller), and where it gets the
        /// user's words (nil: PocketSphinx streaming on the device).
        public var localModel: LocalModel?
        public var words: LiveWords?
        /// A peer's turn decisions, made outside (benchmarks): they replace the turn-taking policy's.
        public var scheduledTurns: [ScheduledTurnPolicy.Mark]?
        /// The time of day at the first capture sample, for a file run that must say the same time
        /// ("what time is it") on every run, as a bench must (nil: the clock's, when asked).
        public var startOfCapture: Date?

        public init(config: MicroturnConfig, echoPath: EchoPath.Spec? = nil, inputSamples: Int? = nil, maxTailSeconds: Double = 8,
                    recordLimit: Int? = nil, localModel: LocalModel? = nil, words: LiveWords? = nil,
                    scheduledTurns: [ScheduledTurnPolicy.Mark]? = nil, startOfCapture: Date? = nil) {
            self.config = config
            self.startOfCapture = startOfCapture
            self.scheduledTurns = scheduledTurns
            self.localModel = localModel
            self.words = words
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
        /// Start of the user's speech over the device to its voice heard 10 dB down, per duck.
        public var duckLatencies: [Double] { events.compactMap { $0.kind == .duck ? $0.latency : nil } }
        /// Every stop in the user's speech: when (seconds), the cues at it, and the model's log-odds
        /// that the turn was over (nil when the model is off).
        public struct SpeechStop: Sendable {
            public var time: Double
            public var cues: TurnEndCues.Features
            public var logit: Double?
            /// What the local model's judgement from the words added to it (nil: no model, or it
            /// was not there before the user spoke again or the turn ended).
            public var wordsLogit: Double?
            /// How long the silence lasted, seconds (nil: the turn was taken or the input ended first).
            public var silence: Double?
            /// What the device had said last (nil: nothing yet): the local model judges the words
            /// as a reply to it.
            public var deviceSaid: String?

            init(time: Double, cues: TurnEndCues.Features, logit: Double?, deviceSaid: String?) {
                self.time = time
                self.cues = cues
                self.logit = logit
                self.deviceSaid = deviceSaid
            }
        }
        public var speechStops: [SpeechStop] = []
    }

    let options: Options
    let audio: DuplexAudio
    let speechOut: SpeechOut
    private let listener: Listener
    private let echoPath: EchoPath?
    let policy: TurnTakingPolicy
    let scheduler: MicroTurnScheduler
    let composer = ReplyComposer()
    let userSpeech: UserSpeech
    private let turnEndModel: TurnEndModel?
    /// Speech that was not a command, for the background server.
    public let requests: PendingRequests
    private let onEvent: (Event) -> Void
    private var report = Report()
    /// Repetitions counted from a camera or a video file, said aloud (nil: none).
    let counts: SpokenCounts?
    let murmurs: DeviceBackchannel
    /// Requests over the link to the background server (nil: `link.server` is not set).
    let background: BackgroundRequests?
    /// The device's own model (nil: `model.path` is not set).
    let local: LocalTier?

    var floor = Floor()
    var pendingTurnEnd: Int?       // capture sample where the answered user speech ended (reply not heard yet)
    var pendingBargeIn: Int?       // capture sample where the interrupting speech began
    var turnIndex = 0
    var interrupted = false
    /// The user went on with the turn the device had begun to answer (`yieldToContinuation`):
    /// the turn now ending is the rest of it.
    var continuing = false
    /// The last request kept (its id in `requests`, which holds its audio) and its task on the
    /// link, for the rest of its turn to join.
    var lastRequest: (id: Int, task: String?)?
    var lastReply: String?
    /// The server's answer being said now (its playback is reported when it ends).
    var playingAnswer: Utterance?
    /// The user's silence going on now: where it began and the turn-end model's say on it.
    var silence: (since: Int, logit: Double?)?
    /// Capture sample at the start of the frame being processed.
    var currentSample = 0
    /// Timers the server set for the user.
    var timers = DeviceTimers()
    /// Live translation's language while it is on: each segment of the user's speech goes to be
    /// translated, ended by a pause of `translation.segment_pause_ms`.
    var translating: TranslationLanguage? {
        didSet { policy.segmentSilenceMs = translating == nil ? nil : options.config.translation.segmentPauseMs }
    }

    public init(options: Options, audio: DuplexAudio, synthesizer: SpeechSynthesizer, repetitions: (any RepetitionSource)? = nil,
                onEvent: @escaping (Event) -> Void = { _ in }) throws(AudioError) {
        self.options = options
        self.audio = audio
        self.onEvent = onEvent
        speechOut = SpeechOut(audio: audio, synthesizer: synthesizer)
        let c = options.config
        listener = try Listener(config: c)
        echoPath = options.echoPath.map(EchoPath.init(spec:))
        policy = TurnTakingPolicy(config: c)
        scheduler = MicroTurnScheduler(microTurnMs: c.turn.microTurnMs,
                                       policy: options.scheduledTurns.map { ScheduledTurnPolicy(marks: $0) } ?? policy)
        userSpeech = try UserSpeech(config: c)
        turnEndModel = c.turn.predict ? TurnEndModel.fitted : nil
        requests = try PendingRequests(directory: c.commands.requestsDirectory.isEmpty ? nil : c.commands.requestsDirectory)
        counts = repetitions.map { SpokenCounts(source: $0, config: c.reps) }
        murmurs = DeviceBackchannel(config: c.turn)
        background = c.link.server.isEmpty ? nil
            : try BackgroundRequests(config: c.link, translation: c.translation, awaitAnswerSeconds: audio.setup.pacing == .virtualClock ? c.link.answerWaitSeconds : nil,
                                     tools: Self.toolCapabilities(counting: repetitions != nil))
        if let model = options.localModel {
            let words: LiveWords
            if let given = options.words { words = given } else { words = try LiveWords() }
            local = LocalTier(model: model, words: words, config: c.model,
                              virtualClock: audio.setup.pacing == .virtualClock)
        } else {
            local = nil
        }
        background?.runTool = { [unowned self] call in self.runTool(call) }
    }

    /// Runs until `shouldStop()` returns true (checked every frame) or a file input is done. Throws
    /// when a device thread gave up for good (the session would otherwise wait for ever).
    /// `shouldStop` is told the 20 ms frames processed so far (a supervisor's sign that audio runs).
    public func run(shouldStop: @escaping (_ framesProcessed: Int) -> Bool = { _ in false }) throws(AudioError) -> Report {
        audio.start()
        defer {
            audio.stop()
            background?.stop()
        }
        let n = ProcessingFormat.frameSamples
        var frame = [Float](repeating: 0, count: n)
        var played = [Float](repeating: 0, count: n)
        var reference = EchoReference.Reader(rings: audio.reference)
        var index = 0
        while !shouldStop(index) {
            if let failure = audio.failed { throw failure }
            if !audio.captured.waitForData(n, timeoutMs: 100) { continue }
            frame.withUnsafeMutableBufferPointer { _ = audio.captured.read(into: $0) }
            let t = index * n
            currentSample = t

            // On the virtual clock, let playback reach exactly as far as it may (its buffer ahead of
            // this frame) before anything is decided, so that speech queued or cut now lands at the
            // same stream position on every run.
            if audio.setup.pacing == .virtualClock { waitForPlayback(upTo: t + n + audio.playbackLead) }
            // What playback wrote for these very samples: the echo canceller's reference.
            reference.collect()
            reference.take(from: t - audio.referenceOffset, into: &played)

            let mic = echoPath?.microphone(near: frame, played: played) ?? frame
            let v = listener.hear(microphone: mic, played: played)
            let before = userSpeech.audio.count
            let heard = userSpeech.hear(v, cleaned: listener.cleaned, frame: index)
            if userSpeech.audio.count > before { local?.heard(userSpeech.audio[before...], begins: before == 0, at: t + n, after: lastReply) }
            weigh(heard, at: t)
            if let local { use(local.poll(now: t, openingHeardBy: speechOut.heardBy), at: t) }
            // A murmur or a count yields the moment the user speaks.
            if v.frameIsSpeech && (floor.holder == .murmur || floor.holder == .count) {
                speechOut.cancel(at: t + n)
                floor.release()
            }
            if let silence, let u = murmurs.due(silence: silence, at: t, talked: report.speechStops.last?.cues.duration,
                                                policy: policy.waits, nextBoundary: nextBoundary(after: index)) {
                scheduler.queue.add(u)
            }
            if let counts {
                let (due, sets, notes) = counts.advance(to: t + n, nextBoundary: nextBoundary(after: index))
                for note in notes { emit(note) }
                for set in sets { background?.reportSet(count: set.count, durations: set.durations, at: t) }
                for u in due {
                    if let old = scheduler.queue.add(u) { emit(SpokenCounts.skipped(old, at: t, reason: "a later count came with it")) }
                }
            }

            sayTimersDue(at: t)
            if let background {
                background.serveToolCalls()
                let answers = background.takeAnswers(at: t)
                // "Still looking that up." is pointless once the answer is here.
                if answers.contains(where: { $0.kind == .answer }) { scheduler.queue.removeAll { $0.kind == .progress } }
                for u in answers { scheduler.queue.add(u) }
                if let u = background.progressDue(at: t) { scheduler.queue.add(u) }
            }
            if let (up, reason) = background?.linkChange() {
                emit(Event(time: seconds(t), kind: .link, text: up ? "online" : "offline", detail: reason))
            }

            handleNotes(upTo: t + n)
            if let s = v.startedAtFrame { emit(Event(time: seconds(s * n), kind: .speechStart)) }
            if let e = v.endedAtFrame { emit(Event(time: seconds(e * n), kind: .speechEnd)) }
            // Under the user, ducked, the device goes on or stops by what the user's words are.
            let overlap = speakingUnderUser ? local?.wordsOverDevice(since: pendingBargeIn, upTo: t + n) : nil
            let observation = FrameObservation(index: index, frameIsSpeech: v.frameIsSpeech, inSpeech: v.inSpeech,
                                               utteranceStartFrame: v.startedAtFrame, deviceSpeaking: floor.replying,
                                               levelDb: v.features.levelDb, completeCommand: heard.completeCommand,
                                               turnEndLogit: silence?.logit, deviceIdle: floor.isIdle && pendingTurnEnd == nil,
                                               userTurnOpen: silence != nil, overlapWords: overlap, frameMayBeSpeech: v.frameMayBeSpeech)
            for decision in scheduler.onFrame(observation) { act(on: decision, now: t + n) }
            pumpSpeech(at: t + n)
            index += 1
            report.frames = index
            audio.markProcessed(upTo: index * n)
            if let input = options.inputSamples, index * n >= input {
                let idle = floor.isIdle && !speechOut.hasMore && pendingTurnEnd == nil && scheduler.queue.isEmpty
                if idle || index * n >= input + ProcessingFormat.samples(seconds: options.maxTailSeconds) { break }
            }
        }
        handleNotes(upTo: .max)
        return report
    }

    /// Capture sample of the first micro-turn boundary after frame `index` begins.
    private func nextBoundary(after index: Int) -> Int {
        let k = scheduler.framesPerMicroTurn
        return (index / k + 1) * k * ProcessingFormat.frameSamples
    }

    /// Keeps the turn-end model's say on the silence going on (from the cues where the user's
    /// speech stopped), and a record of every stop.
    private func weigh(_ heard: UserSpeech.Heard, at t: Int) {
        if heard.spoke {
            // The silence that ends here belongs to the last stop recorded.
            if let since = silence?.since, let k = report.speechStops.indices.last, report.speechStops[k].time == seconds(since) {
                report.speechStops[k].silence = seconds(t - since)
            }
            silence = nil
            local?.userSpoke()
        }
        if let cues = heard.stop {
            let logit = turnEndModel?.logit(cues)
            silence = (t, logit)
            report.speechStops.append(.init(time: seconds(t), cues: cues, logit: logit, deviceSaid: lastReply))
            trim(&report.speechStops)
            local?.stopped(at: t, after: lastReply)
        }
    }

    /// What the local model finished: its judgement from the words joins the prosody model's on
    /// the silence going on (if the user is still silent), a request's acknowledgement is said,
    /// an offline answer waits for the user to be done.
    private func use(_ news: LocalTier.News, at t: Int) {
        for failure in news.failures { emit(Event(time: seconds(t), kind: .warning, text: "local model: \(failure)")) }
        if let words = news.wordsLogit, let current = silence {
            let w = policy.waits
            silence?.logit = (current.logit ?? log(w.threshold / (1 - w.threshold))) + words
            if let k = report.speechStops.indices.last, report.speechStops[k].time == seconds(current.since) {
                report.speechStops[k].wordsLogit = words
            }
        }
        if let s = news.say {
            if s.continuing { sayRest(s.text, now: t, detail: s.origin) } else { say(s.text, speechEnd: s.speechEnd, now: t, remember: true, detail: s.origin) }
        }
        for (_, text) in news.answers {
            scheduler.queue.add(Utterance(text: LocalTier.offlineIntro + text, kind: .answer, condition: .userDone,
                                          deadline: t + ProcessingFormat.samples(seconds: 60)))
        }
    }

    private func waitForPlayback(upTo position: Int) {
        // Only a dead playback thread takes this long; it must not hang the session.
        let deadline = MonotonicClock.now() + 30_000_000_000
        while audio.playbackPosition < position && MonotonicClock.now() < deadline && audio.failed == nil {
            _ = audio.reference.samples.waitForData(audio.reference.samples.count + 1, timeoutMs: 50)
        }
    }

    /// Moves synthesized speech on to playback; a synthesis that failed ends what was being said.
    private func pumpSpeech(at now: Int) {
        do { try speechOut.pump() } catch {
            emit(Event(time: seconds(now), kind: .deviceError, detail: "\(error)"))
            if !speechOut.hasMore && floor.holder != .idle && speechOut.startedAt == nil {
                floor.release()
                pendingTurnEnd = nil
            }
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
                // A cut already released the floor. Speech that ran out while more is being
                // synthesized is a gap, not the end.
                if !flushed && (floor.holder != .reply || (!speechOut.hasMore && pendingTurnEnd == nil)) {
                    if let answer = playingAnswer, !speechOut.hasMore {
                        background?.reportPlayback(of: answer, heardFraction: 1, playedMs: Int(seconds(speechOut.made) * 1000), cut: false)
                        playingAnswer = nil
                    }
                    floor.release()
                }
                emit(Event(time: time, kind: .playbackStop, latency: latency, detail: flushed ? "cut" : "done"))
            case .ducked:
                emit(Event(time: time, kind: .duck, latency: pendingBargeIn.map { seconds(note.time - $0) }))
            case .xrun:
                emit(Event(time: time, kind: .xrun, detail: "\(note.device): \(note.message)"))
            case .error, .reopened:
                emit(Event(time: time, kind: .deviceError, detail: "\(note.device): \(note.message)"))
            case .notice:
                emit(Event(time: time, kind: .warning, text: "\(note.device): \(note.message)"))
            }
        }
    }

    func emit(_ event: Event) {
        report.events.append(event)
        trim(&report.events)
        onEvent(event)
    }

    /// Keeps the latest `recordLimit` entries (trimmed in batches, so appending stays cheap).
    private func trim<T>(_ list: inout [T]) {
        if let limit = options.recordLimit, list.count > 2 * limit { list.removeFirst(list.count - limit) }
    }

    func seconds(_ samples: Int) -> Double { ProcessingFormat.seconds(samples) }
}
