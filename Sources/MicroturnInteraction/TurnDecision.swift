/// What the turn-taking policy asks the session to do, now.
public enum TurnDecision: Sendable, Equatable {
    /// The user's turn is over; their speech ended at capture sample `speechEnd`.
    case turnEnd(speechEnd: Int, speechStart: Int)
    /// What was heard since the last turn ended is too short to be a turn (a cough, a click, a
    /// frame of the device's echo): forget it, so that it neither holds back what waits for the
    /// user to be done nor becomes the start of the next request.
    case notATurn
    /// The user started talking over the device: duck (`barge_in.duck_db`) and listen.
    case bargeIn(speechStart: Int)
    /// Something that may be the user's voice over the device, too faint over its echo to be sure:
    /// duck at once, so that a user starting softly ("wait", "right") hears the device yield.
    case duckForFaintSpeech
    /// The faint speech it ducked for came to no barge-in: back to full level.
    case restoreLevel
    /// The user talking over the device has gone on past a backchannel (`barge_in.stop_after_ms`):
    /// stop speaking.
    case yieldFloor
    /// The user talking over the device's answer is going on with the turn it answers (they had
    /// only paused): stop speaking, and take what they say as the rest of that turn.
    case yieldToContinuation
    /// At a micro-turn boundary: start saying this (from the utterance queue).
    case start(Utterance)
    /// At a micro-turn boundary: this will not be said (its moment passed while the user or the
    /// device was speaking).
    case drop(Utterance, reason: String)
}

/// A turn-taking policy sees every 20 ms frame (urgent decisions) and every micro-turn boundary.
public protocol TurnPolicy: AnyObject {
    func onFrame(_ frame: FrameObservation) -> TurnDecision?
    func onMicroTurn(_ summary: MicroTurnSummary) -> TurnDecision?
}

/// One processed frame as the policy sees it.
public struct FrameObservation: Sendable, Equatable {
    /// Index of the frame; it covers capture samples [index * 320, (index + 1) * 320).
    public var index: Int
    public var frameIsSpeech: Bool
    /// Speech, or something faint over the device's echo that may be (`VoiceActivityDetector.Result`).
    public var frameMayBeSpeech: Bool
    public var inSpeech: Bool
    /// First frame of an utterance the VAD just confirmed.
    public var utteranceStartFrame: Int?
    /// The device is speaking a reply (queued or audible): speech over it is a barge-in.
    public var deviceSpeaking: Bool
    /// Nothing at all is playing or about to (no reply, murmur or count).
    public var deviceIdle: Bool
    /// The user has spoken and their turn is not over yet (they may be in a pause).
    public var userTurnOpen: Bool
    public var levelDb: Double
    /// What the user said so far is exactly a local command (so the turn can end sooner).
    public var completeCommand: Bool
    /// The turn-end model's log-odds that the user is done, from the cues where their speech last
    /// stopped (nil while they speak, or with no model: then silence alone decides).
    public var turnEndLogit: Double?
    /// While the device talks on, ducked, under the user: what their words so far are (nil: no
    /// words are known of at all, and only time decides).
    public var overlapWords: BackchannelWords.Verdict?

    public init(index: Int, frameIsSpeech: Bool, inSpeech: Bool, utteranceStartFrame: Int?, deviceSpeaking: Bool,
                levelDb: Double, completeCommand: Bool = false, turnEndLogit: Double? = nil, deviceIdle: Bool? = nil,
                userTurnOpen: Bool = false, overlapWords: BackchannelWords.Verdict? = nil, frameMayBeSpeech: Bool? = nil) {
        self.index = index
        self.frameIsSpeech = frameIsSpeech
        self.frameMayBeSpeech = frameMayBeSpeech ?? frameIsSpeech
        self.inSpeech = inSpeech
        self.utteranceStartFrame = utteranceStartFrame
        self.deviceSpeaking = deviceSpeaking
        self.levelDb = levelDb
        self.completeCommand = completeCommand
        self.turnEndLogit = turnEndLogit
        self.deviceIdle = deviceIdle ?? !deviceSpeaking
        self.userTurnOpen = userTurnOpen
        self.overlapWords = overlapWords
    }
}

/// What happened during one micro-turn.
public struct MicroTurnSummary: Sendable, Equatable {
    public var index: Int
    public var firstFrame: Int
    public var frames: Int
    public var speechFrames: Int
    public var deviceSpeaking: Bool
}
