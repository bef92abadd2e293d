import MicroturnCore

/// Runs the policy: every 20 ms frame for urgent decisions (a turn end or a barge-in is acted on
/// at the frame it is seen, so the micro-turn length adds no latency), and at every micro-turn
/// boundary for the rest.
public final class MicroTurnScheduler {
    public let framesPerMicroTurn: Int
    public let policy: any TurnPolicy
    public private(set) var microTurns = 0
    private var summary = MicroTurnSummary(index: 0, firstFrame: 0, frames: 0, speechFrames: 0, deviceSpeaking: false)

    public init(microTurnMs: Int, policy: any TurnPolicy) {
        let frameMs = 1000 * ProcessingFormat.frameSamples / ProcessingFormat.sampleRate
        framesPerMicroTurn = max(1, microTurnMs / frameMs)
        self.policy = policy
    }

    public func onFrame(_ frame: FrameObservation) -> [TurnDecision] {
        var decisions: [TurnDecision] = []
        if let d = policy.onFrame(frame) { decisions.append(d) }
        summary.frames += 1
        if frame.frameIsSpeech { summary.speechFrames += 1 }
        summary.deviceSpeaking = summary.deviceSpeaking || frame.deviceSpeaking
        if summary.frames == framesPerMicroTurn {
            if let d = policy.onMicroTurn(summary) { decisions.append(d) }
            microTurns += 1
            summary = MicroTurnSummary(index: microTurns, firstFrame: frame.index + 1, frames: 0, speechFrames: 0,
                                       deviceSpeaking: false)
        }
        return decisions
    }
}
