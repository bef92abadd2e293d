import MicroturnAudio
import MicroturnCore

/// The user's speech in the turn being heard: its audio from the onset (what a background request
/// carries), the command recognizer fed as it goes, and the cues at each stop that say whether the
/// user is done. One per session; the turn-end model is fitted on what this hears, so the session
/// and the fitting tool (`bench fit-turns`) both use it.
public final class UserSpeech {
    /// What one frame added.
    public struct Heard {
        /// What was said so far is exactly a local command (checked in pauses).
        public var completeCommand = false
        /// Speech stopped at this frame: the cues at its end.
        public var stop: TurnEndCues.Features?
        /// This frame is the user speaking in a turn of theirs: speech taken into the pending
        /// turn. A lone frame judged speech outside an utterance (a click, a frame of the device's
        /// echo) is not: it must not cancel what waits for the user to have spoken again.
        public var spoke = false
    }

    public let recognizer: CommandRecognizer?
    private let cues = TurnEndCues()
    /// The pending turn as heard, from 200 ms before its onset.
    public private(set) var audio: [Float] = []
    private var recentFrames: [[Float]] = []
    private var wasSpeech = false
    /// The pending turn ran past what a request keeps.
    private var cut = false
    static let maxRequestSamples = 60 * ProcessingFormat.sampleRate
    static let maxCommandSamples = 10 * ProcessingFormat.sampleRate

    public init(config: MicroturnConfig) throws(AudioError) {
        recognizer = config.commands.enabled
            ? try CommandRecognizer(phrases: config.commands.phrases, margin: config.commands.margin,
                                    marginPerWord: config.commands.marginPerWord) : nil
    }

    public func hear(_ v: VoiceActivityDetector.Result, cleaned: [Float], frame index: Int) -> Heard {
        defer { wasSpeech = v.frameIsSpeech }
        cues.add(cleaned, isSpeech: v.frameIsSpeech, levelDb: v.features.levelDb)
        recentFrames.append(cleaned)
        if recentFrames.count > 15 { recentFrames.removeFirst() }
        // A new utterance, or speech going on after a turn was just answered (a lone frame judged
        // speech outside an utterance is no turn: the detector's onset takes it in if more follows).
        if audio.isEmpty, let start = v.startedAtFrame ?? (v.frameIsSpeech && v.inSpeech ? index : nil) {
            // The utterance began a few frames ago: take it from there, with 200 ms of what came
            // before (the recognizer needs to hear the silence around the words).
            let back = min(recentFrames.count, index - start + 1 + 10)
            audio = recentFrames.suffix(back).flatMap { $0 }
            recognizer?.begin()
            recognizer?.feed(audio)
            return Heard(spoke: true)
        }
        guard !audio.isEmpty else { return Heard() }
        // Bounded: a request keeps its first minute, and no command is longer than a few seconds.
        if audio.count < Self.maxRequestSamples { audio += cleaned } else { cut = true }
        if audio.count < Self.maxCommandSamples { recognizer?.feed(cleaned) }
        var heard = Heard(spoke: v.frameIsSpeech)
        if !v.frameIsSpeech {
            heard.completeCommand = recognizer?.partialCommand() != nil
            if wasSpeech { heard.stop = cues.measure() }
        }
        return heard
    }

    /// Ends the turn: what the recognizer made of it, its audio, and whether that audio was cut
    /// at `maxRequestSamples`.
    public func finish() -> (command: CommandRecognizer.Result?, audio: [Float], cut: Bool) {
        defer {
            audio.removeAll()
            cues.reset()
            cut = false
        }
        return (recognizer?.finish(), audio, cut)
    }
}
