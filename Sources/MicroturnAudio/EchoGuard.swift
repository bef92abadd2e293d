import Foundation

/// Tells whether what is left after echo cancellation can be explained by the device's own echo,
/// so that residual echo never counts as the user's speech (no self-interruption).
///
/// It learns how loud the residual gets against what was played: on frames where the canceller
/// took most of the sound away (at least `cancelledDb` between microphone and residual, so the
/// microphone held mostly echo, not the user), or where the microphone hardly hears the
/// loudspeaker at all, it records (level after cancellation) - (loudest
/// played level in the echo tail), and takes the 90th percentile of the last 1 s of those (short,
/// so it follows the canceller as it converges) as the residual's gain. A frame is the user's
/// only when it stands `marginDb` above that. Until it has seen 0.5 s of such frames, it assumes the
/// worst (the echo may be as loud as the playback itself), so no one can barge in before the
/// canceller has converged, and nothing the user says teaches it that echo is that loud.
///
/// After the echo path changes (the device is moved, a door opens), the canceller's filter is wrong
/// and what it leaves is as loud as the echo itself until it converges again: no level tells that
/// from the user. But what it leaves is then largely its own echo estimate with the sign flipped
/// (it subtracts an echo that is no longer there), which someone's voice is not. Such frames
/// count as echo, and the guard learns from them, so it expects the louder residual until the
/// canceller has caught up; a user who starts talking in that time is heard a little later.
///
/// A frame `faintMarginDb` above the learned level, but not `marginDb`, may be the user: too little
/// to barge in on (the device's echo gets there now and then), enough to duck for. The soft start
/// of "right" or "wait" spends 100-150 ms there under the device's voice, and a user must hear the
/// device yield within 100 ms.
public final class EchoGuard {
    /// What a frame's residual may be.
    public struct Verdict: Sendable, Equatable {
        /// It can be the device's echo: it is never the user's speech.
        public var echo: Bool
        /// It stands far enough above the echo to be the user: the device ducks for it (and it is
        /// not `echo` either only when it stands `marginDb` above).
        public var mayBeUser: Bool

        /// Nothing is playing: whatever is heard is not the device's.
        public static let silent = Verdict(echo: false, mayBeUser: true)
    }

    public let marginDb: Double
    public let faintMarginDb: Double
    /// Faint frames whose residual goes with what the canceller removed (under- or over-cancelled
    /// echo) are not the user's; a voice is uncorrelated with it (within +-0.2 at its onsets).
    static let faintCorrelation = 0.2
    private let tailFrames: Int
    private var played: [Double]     // played level of the last `tailFrames` frames, dBFS
    private var next = 0
    private var residuals: [Double] = []
    private var residualNext = 0
    private let historyFrames = 50
    private let learnedAfter = 25
    /// A frame counts as mostly echo when cancellation took at least this much away.
    static let cancelledDb = 10.0
    /// A microphone this far below the playback hears no echo worth the name.
    static let inaudibleDb = 30.0
    /// Below this the loudspeaker counts as silent.
    static let silentDb = -55.0
    /// At or below this correlation between what the canceller left and what it removed, its
    /// filter no longer fits the room. Tuned on `bench echo --seed 1`: -0.4 also took a fifth of the
    /// user's frames over the device for echo, -0.6 left more rooms that change barging in.
    static let divergedCorrelation = -0.5
    /// That holds only where the canceller had been cancelling well (its residual's learned gain at
    /// or below this): while it first converges its filter is wrong on every frame, and a user
    /// talking then must still be heard. Once the guard has learned the louder residual of a
    /// changed room, that level keeps its echo out. Tuned on `bench echo --seed 1` and `--seed 3`:
    /// without it, a user 1.7 s into the device's speech in a room that stays went unheard; at -25,
    /// a loud reverberant room (echo at -6 dB, 200 ms) that then changed barged in on its echo.
    static let convergedGainDb = -15.0

    /// `faintMarginDb` 12 was tuned on the 24 dialogs of `bench make-dialogs --material training
    /// --seed 500` (68 backchannels and interruptions over the device) and on `bench echo --seed 1`
    /// and `--seed 3` (harsher rooms: echo up to -2 dB, 300 ms of reverberation). There the audible
    /// duck's p95 went from 170 to 130-140 ms with one duck on echo in the dialogs' 168 s of the
    /// device's speech, and ducks on echo in 1 of 32 rooms that stay and 6 of 32 that change. At 8 dB: 110 ms, but echo ducked it in
    /// 7 and 10 rooms; a second faint frame before ducking took any gain away (150 ms).
    public init(tailMs: Int, marginDb: Double = 20, faintMarginDb: Double = 12, frameMs: Int = 20) {
        precondition(faintMarginDb <= marginDb, "a frame that is the user's must also be one the device ducks for")
        self.marginDb = marginDb
        self.faintMarginDb = faintMarginDb
        tailFrames = max(1, (tailMs + frameMs - 1) / frameMs + 1)
        played = [Double](repeating: -100, count: tailFrames)
    }

    /// The residual's usual level relative to the playback (dB), or nil while still learning.
    public var residualGainDb: Double? {
        guard residuals.count >= learnedAfter else { return nil }
        let sorted = residuals.sorted()
        return sorted[sorted.count * 9 / 10]
    }

    /// Feeds one frame: the level of what was played for it, of the microphone, and after
    /// cancellation, and the canceller's `leftToRemovedCorrelation`. Returns what the frame's sound
    /// can be.
    public func judge(playedLevelDb: Double, microphoneLevelDb: Double, residualLevelDb: Double,
                      leftToRemovedCorrelation: Double) -> Verdict {
        played[next] = playedLevelDb
        next = (next + 1) % tailFrames
        let envelope = played.max() ?? -100
        guard envelope > Self.silentDb else { return .silent }
        let relative = residualLevelDb - envelope
        let filterDiverged = leftToRemovedCorrelation <= Self.divergedCorrelation
            && (residualGainDb.map { $0 <= Self.convergedGainDb } ?? false)
        // Learn from frames that are the device's alone: the canceller took most of it away, the
        // microphone barely hears the loudspeaker at all (headphones, a well-isolated speaker), or
        // what is left is the canceller's own error.
        let echoOnly = microphoneLevelDb - residualLevelDb >= Self.cancelledDb || microphoneLevelDb <= envelope - Self.inaudibleDb
            || filterDiverged
        if playedLevelDb > Self.silentDb && echoOnly {
            if residuals.count < historyFrames { residuals.append(relative) } else { residuals[residualNext] = relative }
            residualNext = (residualNext + 1) % historyFrames
        }
        let above = relative - (residualGainDb ?? 0)
        let echo = filterDiverged || above <= marginDb
        return Verdict(echo: echo, mayBeUser: !echo
                       || (!filterDiverged && above > faintMarginDb && abs(leftToRemovedCorrelation) < Self.faintCorrelation))
    }

    public static func level(_ frame: [Float]) -> Double {
        var e: Float = 0
        for x in frame { e += x * x }
        return 10 * log10(max(Double(e) / Double(max(1, frame.count)), 1e-10))
    }
}
