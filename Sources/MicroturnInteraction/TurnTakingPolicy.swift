import Foundation
import MicroturnCore

/// Microturn's turn-taking: speech that lasts `bargeInMs` while the device talks is a barge-in
/// (the device ducks). If the speech goes on for `stopAfterMs` the device yields the floor; a
/// shorter one lets it go on at full level. A frame that may be the user's speech, too faint over
/// the device's echo to barge in on, ducks it at once, and `faintHoldFrames` without more of it and
/// with no barge-in bring it back to full level. Where the user's words are known, the device yields as
/// soon as they take the floor ("wait"), or when the speech goes on for `wordsStopAfterMs` past
/// the latest word of a backchannel (or its onset, while no word has come; words that are neither
/// leave it to `stopAfterMs`, except when the speech begins within `resumeWithinMs` of the end of
/// the turn the device is answering: that is the user going on after a pause the device took for
/// an end, and any word that is not an acknowledgement stops it). Either way its end is a user
/// turn's end.
/// The user's turn ends when, after their speech stops, the probability that they are done reaches
/// `threshold`. That probability starts from the turn-end model's log-odds at the stop
/// (`FrameObservation.turnEndLogit`) and grows with the silence, one logit per `msPerLogit`; the
/// wait is at least `endSilenceMs` and at most `maxSilenceMs`. So a falling, finished sentence is
/// answered after `endSilenceMs`, a trailing "and" or "um" waits out the pause, and a complete
/// command waits only `commandSilenceMs`. With no model, the wait is a fixed `endSilenceMs` (the
/// silence-timer baseline).
public final class TurnTakingPolicy: TurnPolicy {
    public struct Waits: Sendable {
        public var endSilenceMs: Int
        public var maxSilenceMs: Int
        public var threshold: Double
        public var msPerLogit: Int

        public init(endSilenceMs: Int, maxSilenceMs: Int? = nil, threshold: Double = 0.5, msPerLogit: Int = 2000) {
            self.endSilenceMs = endSilenceMs
            self.maxSilenceMs = maxSilenceMs ?? endSilenceMs
            precondition(self.maxSilenceMs >= endSilenceMs, "ConfigSchema.checkConsistent refuses max_silence_ms < end_silence_ms")
            self.threshold = threshold
            self.msPerLogit = msPerLogit
        }

        /// Silence (ms) after which a stop with log-odds `logit` counts as the end of the turn.
        public func silenceMs(logit: Double?) -> Int {
            guard let logit else { return endSilenceMs }
            let needed = log(threshold / (1 - threshold)) - logit
            let ms = Double(endSilenceMs) + max(0, needed) * Double(msPerLogit)
            return min(maxSilenceMs, Int(ms.rounded(.up)))
        }
    }

    public let waits: Waits
    let frameMs = 1000 * ProcessingFormat.frameSamples / ProcessingFormat.sampleRate
    let commandSilenceFrames: Int
    let minUtteranceFrames: Int
    let bargeInFrames: Int
    let bargeInEnabled: Bool
    let backchannelMaxFrames: Int
    let stopAfterFrames: Int
    let wordsStopAfterFrames: Int
    let resumeFrames: Int
    let underDeviceStopFrames = 400 / (1000 * ProcessingFormat.frameSamples / ProcessingFormat.sampleRate)

    /// While set (live translation), a pause this long ends the user's segment whatever the model
    /// says, so that each goes to be translated while the user goes on.
    public var segmentSilenceMs: Int?

    private var userStart: Int?      // first frame of the user's pending turn
    private var lastSpeechEnd = 0    // frame index just after the last speech frame
    private var lastSpeechUnderDevice = false  // the device was speaking then
    private var speechFrames = 0     // speech frames in the pending turn
    private var overlapRun = 0       // consecutive speech frames while the device talks
    private var bargedIn = false
    private var yielded = false      // the device was told to stop for the barge-in
    private var backchannelHeard: (frame: Int, words: Int)?  // when the latest word of a backchannel came
    private var endedTurnEnd: Int?   // frame just after the last speech frame of the last turn the device answers
    private var resuming = false     // the barge-in began within resumeFrames of that
    private var faintHeard: Int?     // the latest frame of faint speech the device ducked for, before a barge-in
    /// Faint speech is the start of a barge-in or nothing: the barge-in comes within 100-200 ms
    /// of it (`bench turns` on the training dialogs), and a duck on echo should not last.
    let faintHoldFrames = 300 / (1000 * ProcessingFormat.frameSamples / ProcessingFormat.sampleRate)

    public init(waits: Waits, bargeInMs: Int, bargeInEnabled: Bool = true, minUtteranceMs: Int = 100,
                commandSilenceMs: Int? = nil, backchannelMaxMs: Int = 600, stopAfterMs: Int = 0, wordsStopAfterMs: Int? = nil,
                resumeWithinMs: Int = 0) {
        self.waits = waits
        let endSilenceMs = waits.endSilenceMs
        precondition((commandSilenceMs ?? 0) <= endSilenceMs, "ConfigSchema.checkConsistent refuses a command end longer than a turn end")
        commandSilenceFrames = max(1, ((commandSilenceMs ?? endSilenceMs) + frameMs - 1) / frameMs)
        bargeInFrames = max(1, (bargeInMs + frameMs - 1) / frameMs)
        minUtteranceFrames = max(1, minUtteranceMs / frameMs)
        self.bargeInEnabled = bargeInEnabled
        backchannelMaxFrames = backchannelMaxMs / frameMs
        stopAfterFrames = stopAfterMs / frameMs
        wordsStopAfterFrames = (wordsStopAfterMs ?? stopAfterMs) / frameMs
        resumeFrames = resumeWithinMs / frameMs
    }

    public convenience init(endSilenceMs: Int, bargeInMs: Int, bargeInEnabled: Bool = true) {
        self.init(waits: Waits(endSilenceMs: endSilenceMs), bargeInMs: bargeInMs, bargeInEnabled: bargeInEnabled)
    }

    public convenience init(config: MicroturnConfig) {
        let t = config.turn
        self.init(waits: Waits(endSilenceMs: t.endSilenceMs, maxSilenceMs: t.maxSilenceMs, threshold: t.threshold,
                               msPerLogit: t.msPerLogit),
                  bargeInMs: config.bargeIn.minSpeechMs,
                  bargeInEnabled: config.bargeIn.enabled,
                  commandSilenceMs: config.commands.enabled ? config.commands.endSilenceMs : nil,
                  backchannelMaxMs: config.bargeIn.backchannelMaxMs,
                  stopAfterMs: config.bargeIn.stopAfterMs, wordsStopAfterMs: config.bargeIn.wordsStopAfterMs,
                  resumeWithinMs: config.bargeIn.resumeWithinMs)
    }

    public func onFrame(_ f: FrameObservation) -> TurnDecision? {
        if f.frameIsSpeech {
            lastSpeechEnd = f.index + 1
            lastSpeechUnderDevice = f.deviceSpeaking
            if userStart != nil { speechFrames += 1 }
        }
        if let start = f.utteranceStartFrame, userStart == nil {
            userStart = start
            speechFrames = f.index + 1 - start
        }
        if f.deviceSpeaking && !bargedIn {
            overlapRun = f.frameIsSpeech ? overlapRun + 1 : 0
            if bargeInEnabled, overlapRun >= bargeInFrames {
                bargedIn = true
                faintHeard = nil
                yielded = stopAfterFrames == 0  // the device stops at once
                backchannelHeard = nil
                let start = min(userStart ?? f.index, f.index + 1 - overlapRun)
                userStart = start
                resuming = endedTurnEnd.map { start - $0 <= resumeFrames } ?? false
                speechFrames = f.index + 1 - start
                return .bargeIn(speechStart: start * ProcessingFormat.frameSamples)
            }
            // (Clear speech ducks with its barge-in, after `bargeInMs`.)
            if bargeInEnabled && f.frameMayBeSpeech && !f.frameIsSpeech {
                let first = faintHeard == nil
                faintHeard = f.index
                if first { return .duckForFaintSpeech }
            }
            // While the device talks, speech too short to barge in does not make a turn of its own.
            if !f.inSpeech && userStart != nil {
                userStart = nil
                speechFrames = 0
                return .notATurn
            }
            if let faint = faintHeard, f.index - faint >= faintHoldFrames {
                faintHeard = nil
                return .restoreLevel
            }
            return nil
        }
        overlapRun = 0
        // A new utterance plays at full level.
        if !f.deviceSpeaking { faintHeard = nil }
        // The device, ducked, still talks: the user's words take the floor, or the user has gone
        // on past a backchannel (or past words that are neither). (Time since the onset, not speech frames: under the device's
        // echo the detector misses some of the user's frames, and a long interruption must not
        // pass for a short one.)
        if f.deviceSpeaking && bargedIn && !yielded, let start = userStart {
            if case let .backchannel(words) = f.overlapWords, words > backchannelHeard?.words ?? 0 { backchannelHeard = (f.index, words) }
            let since = backchannelHeard?.frame ?? start
            let limit = f.overlapWords == nil || f.overlapWords == .other ? stopAfterFrames : wordsStopAfterFrames
            let takesTheFloor = f.overlapWords == .interruption || (resuming && f.overlapWords == .other)
            if takesTheFloor || (f.frameIsSpeech && f.index + 1 - since >= limit) {
                yielded = true
                // Words that take the floor ("wait") interrupt, even that soon.
                return resuming && f.overlapWords != .interruption ? .yieldToContinuation : .yieldFloor
            }
        }
        // Something short that cut the device ("yeah", "stop") is dealt with after the shortest
        // wait: the device should not hang silent (the model knows turns, not backchannels).
        let short = bargedIn && speechFrames <= backchannelMaxFrames
        var needed = f.completeCommand ? commandSilenceFrames
            : (waits.silenceMs(logit: short ? nil : f.turnEndLogit) + frameMs - 1) / frameMs
        if let segment = segmentSilenceMs { needed = min(needed, (segment + frameMs - 1) / frameMs) }
        // Under the device's ducked voice the user's speech is heard through what is left of its
        // echo, and a word's quieter stretch can pass for a stop: a stop there must last longer.
        if bargedIn && lastSpeechUnderDevice { needed = max(needed, underDeviceStopFrames) }
        guard let start = userStart, f.index + 1 - lastSpeechEnd >= needed else { return nil }
        let frames = speechFrames, cutTheDevice = bargedIn
        userStart = nil
        speechFrames = 0
        bargedIn = false
        yielded = false
        backchannelHeard = nil
        resuming = false
        // A blip is not a turn, unless it cut the device: then the device must hear that it is
        // over, to go on with what it was saying.
        guard frames >= minUtteranceFrames || cutTheDevice else { return .notATurn }
        // A turn over the device (a backchannel it goes on after, an interruption) is not one the
        // user can be going on with: "yeah" and then "mm-hm" is no resumption.
        endedTurnEnd = cutTheDevice ? nil : lastSpeechEnd
        return .turnEnd(speechEnd: lastSpeechEnd * ProcessingFormat.frameSamples,
                        speechStart: start * ProcessingFormat.frameSamples)
    }

    /// The silence policy takes all of its decisions per frame.
    public func onMicroTurn(_ s: MicroTurnSummary) -> TurnDecision? { nil }
}
