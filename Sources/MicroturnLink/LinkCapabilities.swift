/// What a device tells the server it can do, in HELLO, and what a server does unasked, in WELCOME
/// (PROTOCOL.md).
public enum LinkCapabilities {
    /// The device's request speech is Opus at 16 kHz.
    public static let opus = "opus16k"
    /// The device wants the server to speak its answers (Opus AUDIO ahead of each RESULT part).
    public static let serverSpeech = "speech:opus16k"
    /// The device takes unasked remarks (RESULT `interjection`) on what it reports; from a server,
    /// it makes them, and answers every REPETITION with one (empty: no remark).
    public static let interjections = "interjections"
}
