/// Something a device thread wants the session to know, stamped in capture-clock samples.
public struct DeviceNote: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case xrun
        case error
        case reopened
        /// Worth knowing, not a fault (the thread runs without real-time priority).
        case notice
        /// The first sample of new speech was written at `time`.
        case playbackStart
        /// Speech ran out (`flushed` false) or was cut short (`flushed` true); `time` is the sample after the last one.
        case playbackStop(flushed: Bool)
        /// The device's voice was brought down by at least `DuplexAudio.audibleDuckDb` at `time`.
        case ducked
    }

    public var time: Int
    public var kind: Kind
    public var device: String
    public var message: String
}
