import Foundation

/// Tells whether what is left after echo cancellation can be explained by the device's own echo,
/// so that residual echo never counts as the user's speech (no self-interruption).
///
/// It learns how loud the residual gets against what was played: while anything was played within
/// the echo tail, it records (level after cancellation) - (loudest played level in the tail), and
/// takes the 90th percentile of the last 1 s of those (short, so it follows the canceller as it
/// converges) as the residual's gain. A frame is the user's only when it stands `marginDb` above
/// that. A barge-in stops playback within a few frames, so the user's own speech stays under the
/// top 10% of that history. Until it has heard 1 s of its own playback, it assumes the worst (the
/// echo may be as loud as the playback itself).
public final class EchoGuard {
    public let marginDb: Double
    private let tailFrames: Int
    private var played: [Double]     // played level of the last `tailFrames` frames, dBFS
    private var next = 0
    private var residuals: [Double] = []
    private var residualNext = 0
    private let historyFrames = 50
    private let learnedAfter = 50
    /// Below this the loudspeaker counts as silent.
    static let silentDb = -55.0

    public init(tailMs: Int, marginDb: Double = 20, frameMs: Int = 20) {
        self.marginDb = marginDb
        tailFrames = max(1, (tailMs + frameMs - 1) / frameMs + 1)
        played = [Double](repeating: -100, count: tailFrames)
    }

    /// The residual's usual level relative to the playback (dB), or nil while still learning.
    public var residualGainDb: Double? {
        guard residuals.count >= learnedAfter else { return nil }
        let sorted = residuals.sorted()
        return sorted[sorted.count * 9 / 10]
    }

    /// Feeds one frame: the level of what was played for it and the level after cancellation.
    /// Returns true when the frame's sound can be the device's own echo.
    public func explainedByEcho(playedLevelDb: Double, residualLevelDb: Double) -> Bool {
        played[next] = playedLevelDb
        next = (next + 1) % tailFrames
        let envelope = played.max() ?? -100
        guard envelope > Self.silentDb else { return false }
        let relative = residualLevelDb - envelope
        // Learn only while playing: after playback is cut, the tail window still counts as
        // playing, but what the microphone hears then is mostly the user who cut it.
        if playedLevelDb > Self.silentDb {
            if residuals.count < historyFrames { residuals.append(relative) } else { residuals[residualNext] = relative }
            residualNext = (residualNext + 1) % historyFrames
        }
        return relative <= (residualGainDb ?? 0) + marginDb
    }

    public static func level(_ frame: [Float]) -> Double {
        var e: Float = 0
        for x in frame { e += x * x }
        return 10 * log10(max(Double(e) / Double(max(1, frame.count)), 1e-10))
    }
}
