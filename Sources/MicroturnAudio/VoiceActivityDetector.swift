import MicroturnCore

/// Voice activity per 20 ms frame, with the segment logic that turns frame decisions into
/// utterances: speech must last `onsetMs` to start, and gaps up to `hangoverMs` are bridged.
///
/// Two frame classifiers share that logic:
/// - `adaptive`: speech-band level above a tracked noise floor (a low percentile of the last 5 s of frame
///   levels: speech has gaps between words, noise has none), confirmed by voicing, so steady noise
///   of any level is not speech and quiet speech still is;
/// - `energy`: a fixed dBFS threshold, the baseline it must beat.
public final class VoiceActivityDetector {
    public enum Method: String, Sendable { case adaptive, energy }

    public struct Result: Sendable, Equatable {
        /// This frame alone looks like speech.
        public var frameIsSpeech: Bool
        /// It looks like speech and stands above the device's echo, if not by enough to be sure
        /// (`EchoGuard.Verdict.mayBeUser`): the device ducks for it. Implied by `frameIsSpeech`.
        public var frameMayBeSpeech: Bool
        /// Inside an utterance (after onset and hangover smoothing).
        public var inSpeech: Bool
        /// Set on the frame where an utterance is confirmed: the frame index where it began.
        public var startedAtFrame: Int?
        /// Set on the frame where an utterance is over: the frame index just after its last speech frame.
        public var endedAtFrame: Int?
        public var features: FrameFeatures
    }

    public let method: Method
    public let energyThresholdDb: Double
    public let snrDb: Double
    let onsetFrames: Int
    let hangoverFrames: Int
    /// Tracked noise floor of the speech band, dBFS.
    public private(set) var noiseFloorDb: Double = -80
    private var history: [Double] = []
    private let historyFrames = 250
    private var historyNext = 0
    private let warmUpFrames = 10
    private var frameIndex = 0
    private var speechRun = 0
    private var runStart = 0
    private var silenceRun = 0
    private var lastSpeechFrame = 0
    public private(set) var inSpeech = false

    public init(method: Method, energyThresholdDb: Double = -40, snrDb: Double = 6, onsetMs: Int = 40, hangoverMs: Int = 100) {
        self.method = method
        self.energyThresholdDb = energyThresholdDb
        self.snrDb = snrDb
        let frameMs = 1000 * ProcessingFormat.frameSamples / ProcessingFormat.sampleRate
        onsetFrames = max(1, (onsetMs + frameMs - 1) / frameMs)
        hangoverFrames = max(0, hangoverMs / frameMs)
    }

    public convenience init(config: MicroturnConfig.VAD) {
        self.init(method: Method(rawValue: config.method) ?? .adaptive, energyThresholdDb: config.energyThresholdDb,
                  snrDb: config.snrDb, onsetMs: config.onsetMs, hangoverMs: config.hangoverMs)
    }

    /// Classifies one frame and advances the segment state. A frame that `echo` says can be the
    /// device's own echo is never speech.
    public func process(_ frame: [Float], echo: EchoGuard.Verdict = .silent) -> Result {
        let f = FrameFeatures.measure(frame)
        let speechLike = classify(f)
        let speech = speechLike && !echo.echo
        trackNoise(f.bandLevelDb)
        defer { frameIndex += 1 }
        var result = Result(frameIsSpeech: speech, frameMayBeSpeech: speechLike && echo.mayBeUser, inSpeech: inSpeech, features: f)
        if speech {
            if speechRun == 0 { runStart = frameIndex }
            speechRun += 1
            silenceRun = 0
            lastSpeechFrame = frameIndex
            if !inSpeech && speechRun >= onsetFrames {
                inSpeech = true
                result.startedAtFrame = runStart
            }
        } else {
            speechRun = 0
            silenceRun += 1
            if inSpeech && silenceRun > hangoverFrames {
                inSpeech = false
                result.endedAtFrame = lastSpeechFrame + 1
            }
        }
        result.inSpeech = inSpeech
        return result
    }

    func classify(_ f: FrameFeatures) -> Bool {
        switch method {
        case .energy:
            return f.levelDb > energyThresholdDb
        case .adaptive:
            // The first 200 ms are for learning the room's noise.
            guard frameIndex >= warmUpFrames, f.levelDb > -62 else { return false }
            let snr = f.bandLevelDb - noiseFloorDb
            // Speech-like frames (voiced, or with a peaky spectrum) need the SNR; others need more of it.
            let speechLike = f.voicing > 0.4 || f.flatness < 0.25
            return (snr > snrDb && speechLike) || snr > snrDb + 8
        }
    }

    private func trackNoise(_ measured: Double) {
        // Digital silence counts as a very quiet room, not as no information.
        let level = max(measured, -90)
        if history.count < historyFrames { history.append(level) } else { history[historyNext] = level; historyNext = (historyNext + 1) % historyFrames }
        var sorted = history
        sorted.sort()
        // The 5th percentile, but never the very lowest frames of a short history: one odd quiet
        // frame (a device starting up) must not make the whole room sound loud.
        noiseFloorDb = sorted[max(sorted.count / 20, min(2, sorted.count - 1))]
    }
}
