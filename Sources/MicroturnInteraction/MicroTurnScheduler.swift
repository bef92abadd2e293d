import MicroturnCore

/// Runs the policy: every 20 ms frame for urgent decisions (a turn end or a barge-in is acted on
/// at the frame it is seen, so the micro-turn length adds no latency), and at every micro-turn
/// boundary for the rest: the policy's own, then what the utterance queue starts or drops. So a
/// count or a murmur starts only on a boundary, never between two.
public final class MicroTurnScheduler {
    public let framesPerMicroTurn: Int
    public let policy: any TurnPolicy
    public let queue: UtteranceQueue
    public private(set) var microTurns = 0
    private var summary = MicroTurnSummary(index: 0, firstFrame: 0, frames: 0, speechFrames: 0, deviceSpeaking: false)

    public init(microTurnMs: Int, policy: any TurnPolicy, queue: UtteranceQueue = UtteranceQueue()) {
        let frameMs = 1000 * ProcessingFormat.frameSamples / ProcessingFormat.sampleRate
        framesPerMicroTurn = max(1, microTurnMs / frameMs)
        self.policy = policy
        self.queue = queue
    }

    public func onFrame(_ frame: FrameObservation) -> [TurnDecision] {
        var decisions: [TurnDecision] = []
        if let d = policy.onFrame(frame) { decisions.append(d) }
        summary.frames += 1
        if frame.frameIsSpeech { summary.speechFrames += 1 }
        summary.deviceSpeaking = summary.deviceSpeaking || frame.deviceSpeaking
        if summary.frames == framesPerMicroTurn {
            if let d = policy.onMicroTurn(summary) { decisions.append(d) }
            // The boundary is the end of this frame; an urgent decision above counts as the device's.
            let replying = decisions.contains { if case .turnEnd = $0 { true } else { false } }
            for outcome in queue.boundary(at: (frame.index + 1) * ProcessingFormat.frameSamples,
                                          userSpeaking: frame.frameIsSpeech || frame.inSpeech, userTurnOpen: frame.userTurnOpen,
                                          deviceIdle: frame.deviceIdle && !replying) {
                switch outcome {
                case let .start(u): decisions.append(.start(u))
                case let .drop(u, reason): decisions.append(.drop(u, reason: reason))
                }
            }
            microTurns += 1
            summary = MicroTurnSummary(index: microTurns, firstFrame: frame.index + 1, frames: 0, speechFrames: 0,
                                       deviceSpeaking: false)
        }
        return decisions
    }
}
