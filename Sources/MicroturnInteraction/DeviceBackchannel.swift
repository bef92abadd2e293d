import MicroturnCore

/// The device's own backchannel (`turn.backchannel`): "mm-hm" in a pause of a long user turn, when
/// the turn-end model expects the user to go on for at least another half second; once per user
/// turn, started at the next micro-turn boundary only if the user is still quiet, and cut the
/// moment they speak again.
final class DeviceBackchannel {
    /// What the device murmurs.
    static let text = ReplyComposer.backchannel
    private let config: MicroturnConfig.Turn
    /// A murmur was said in this user turn.
    private var used = false

    init(config: MicroturnConfig.Turn) { self.config = config }

    /// A murmur to queue now, if one is due: `silence` is the pause going on (where it began, the
    /// model's log-odds), `talked` how long the user spoke before it, seconds.
    func due(silence: (since: Int, logit: Double?), at t: Int, talked: Double?, policy: TurnTakingPolicy.Waits,
             nextBoundary: Int) -> Utterance? {
        guard config.backchannel, !used, let logit = silence.logit, let talked,
              talked * 1000 >= Double(config.backchannelAfterMs) else { return nil }
        let paused = ProcessingFormat.seconds(t - silence.since)
        let wait = Double(policy.silenceMs(logit: logit)) / 1000
        guard paused >= 0.3, wait - paused >= 0.5 else { return nil }
        return Utterance(text: Self.text, kind: .murmur, condition: .userSilent, deadline: nextBoundary)
    }

    /// The murmur started: none again in this user turn.
    func started() { used = true }

    /// The user's turn is over: the next one may have its murmur.
    func turnEnded() { used = false }
}
