import MicroturnCore

/// Turn-taking decided outside the session, for a peer run side by side in a benchmark (Pipecat's
/// stack, run by tools/pipecat-peer.py on the same capture): at the given capture samples the
/// user's turn starts or ends. A start while the device talks is a barge-in; the peer's config
/// (`barge_in.stop_after_ms` 0) makes the device stop at once, as Pipecat interrupts its bot.
public final class ScheduledTurnPolicy: TurnPolicy {
    public enum Mark: Sendable, Equatable {
        /// The peer heard the user start at capture sample `at` (their speech began at `speechStart`).
        case start(at: Int, speechStart: Int)
        /// The peer ended the user's turn at capture sample `at`.
        case end(at: Int, speechStart: Int, speechEnd: Int)

        var at: Int {
            switch self {
            case let .start(at, _), let .end(at, _, _): at
            }
        }
    }

    private let marks: [Mark]
    private var next = 0

    /// `marks` in any order; they are acted on by time.
    public init(marks: [Mark]) {
        self.marks = marks.sorted { $0.at < $1.at }
    }

    /// The marks up to the end of this frame, one decision a frame (a second one waits a frame; a
    /// start while the device is quiet needs none).
    public func onFrame(_ f: FrameObservation) -> TurnDecision? {
        let frameEnd = (f.index + 1) * ProcessingFormat.frameSamples
        while next < marks.count, marks[next].at <= frameEnd {
            let mark = marks[next]
            next += 1
            switch mark {
            case let .start(_, speechStart):
                if f.deviceSpeaking { return .bargeIn(speechStart: speechStart) }
            case let .end(_, speechStart, speechEnd):
                return .turnEnd(speechEnd: speechEnd, speechStart: speechStart)
            }
        }
        return nil
    }

    public func onMicroTurn(_ summary: MicroTurnSummary) -> TurnDecision? { nil }
}
