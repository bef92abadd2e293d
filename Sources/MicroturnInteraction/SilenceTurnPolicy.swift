import MicroturnCore

/// The first turn-taking policy: the user's turn ends after speech followed by `endSilenceMs` of
/// silence (`commandSilenceMs` when what was said is exactly a local command); speech that lasts
/// `bargeInMs` while the device talks is a barge-in.
public final class SilenceTurnPolicy: TurnPolicy {
    let endSilenceFrames: Int
    let commandSilenceFrames: Int
    let minUtteranceFrames: Int
    let bargeInFrames: Int
    let bargeInEnabled: Bool

    private var userStart: Int?      // first frame of the user's pending turn
    private var lastSpeechEnd = 0    // frame index just after the last speech frame
    private var speechFrames = 0     // speech frames in the pending turn
    private var overlapRun = 0       // consecutive speech frames while the device talks
    private var bargedIn = false

    public init(endSilenceMs: Int, bargeInMs: Int, bargeInEnabled: Bool = true, minUtteranceMs: Int = 100,
                commandSilenceMs: Int? = nil) {
        let frameMs = 1000 * ProcessingFormat.frameSamples / ProcessingFormat.sampleRate
        endSilenceFrames = max(1, (endSilenceMs + frameMs - 1) / frameMs)
        commandSilenceFrames = min(endSilenceFrames, max(1, ((commandSilenceMs ?? endSilenceMs) + frameMs - 1) / frameMs))
        bargeInFrames = max(1, (bargeInMs + frameMs - 1) / frameMs)
        minUtteranceFrames = max(1, minUtteranceMs / frameMs)
        self.bargeInEnabled = bargeInEnabled
    }

    public convenience init(config: MicroturnConfig) {
        self.init(endSilenceMs: config.turn.endSilenceMs, bargeInMs: config.bargeIn.minSpeechMs,
                  bargeInEnabled: config.bargeIn.enabled,
                  commandSilenceMs: config.commands.enabled ? config.commands.endSilenceMs : nil)
    }

    public func onFrame(_ f: FrameObservation) -> TurnDecision? {
        if f.frameIsSpeech {
            lastSpeechEnd = f.index + 1
            if userStart != nil { speechFrames += 1 }
        }
        if let start = f.utteranceStartFrame, userStart == nil {
            userStart = start
            speechFrames = f.index + 1 - start
        }
        if f.deviceSpeaking {
            overlapRun = f.frameIsSpeech ? overlapRun + 1 : 0
            if bargeInEnabled, !bargedIn, f.inSpeech, overlapRun >= bargeInFrames {
                bargedIn = true
                let start = min(userStart ?? f.index, f.index + 1 - overlapRun)
                userStart = start
                return .bargeIn(speechStart: start * ProcessingFormat.frameSamples)
            }
            // While the device talks, speech too short to barge in does not make a turn of its own.
            if !bargedIn && !f.inSpeech {
                userStart = nil
                speechFrames = 0
            }
            return nil
        }
        overlapRun = 0
        let needed = f.completeCommand ? commandSilenceFrames : endSilenceFrames
        guard let start = userStart, f.index + 1 - lastSpeechEnd >= needed else { return nil }
        let frames = speechFrames
        userStart = nil
        speechFrames = 0
        bargedIn = false
        guard frames >= minUtteranceFrames else { return nil }
        return .turnEnd(speechEnd: lastSpeechEnd * ProcessingFormat.frameSamples,
                        speechStart: start * ProcessingFormat.frameSamples)
    }

    /// The silence policy takes all of its decisions per frame.
    public func onMicroTurn(_ s: MicroTurnSummary) -> TurnDecision? { nil }
}
