import MicroturnCore

/// What the device hears, one 20 ms frame at a time: the microphone with the echo of what it played
/// cancelled, residual echo kept from counting as speech, and voice activity. One chain, used by the
/// session and by every test that asks whether the device hears the user or itself.
public final class Listener {
    private let echoCanceller: EchoCanceller?
    private let echoGuard: EchoGuard?
    private let vad: VoiceActivityDetector
    /// The last frame as heard after echo cancellation (what speech recognition gets).
    public private(set) var cleaned: [Float] = []

    /// `guardEcho` false leaves the echo guard out, for a bench to show what it adds.
    public init(config: MicroturnConfig, guardEcho: Bool = true) throws(AudioError) {
        echoCanceller = config.echo.enabled
            ? try EchoCanceller(tailMs: config.echo.tailMs, suppressDb: config.echo.suppressDb) : nil
        echoGuard = guardEcho ? EchoGuard(tailMs: config.echo.tailMs) : nil
        vad = VoiceActivityDetector(config: config.vad)
    }

    /// `microphone` and `played` cover the same capture-clock samples.
    public func hear(microphone: [Float], played: [Float]) -> VoiceActivityDetector.Result {
        var mic = microphone
        echoCanceller?.process(microphone: &mic, reference: played)
        cleaned = mic
        let echo = echoGuard?.judge(playedLevelDb: EchoGuard.level(played), microphoneLevelDb: EchoGuard.level(microphone),
                                    residualLevelDb: EchoGuard.level(mic),
                                    leftToRemovedCorrelation: echoCanceller?.leftToRemovedCorrelation ?? 0) ?? .silent
        return vad.process(mic, echo: echo)
    }
}
