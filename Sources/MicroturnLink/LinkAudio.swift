/// Speech on the link, either way: 20 ms Opus packets at 16 kHz, this many to an AUDIO frame
/// (60 ms: PROTOCOL.md says why three).
public enum LinkAudio {
    public static let packetsPerFrame = 3
}
