/// The one internal audio format: every device is converted to and from it at its edge.
public enum ProcessingFormat {
    /// Internal sample rate (Hz). Timestamps are counted in samples of this clock.
    public static let sampleRate = 16_000
    /// One processing frame is 20 ms: the unit of echo cancellation, VAD and decisions.
    public static let frameSamples = 320

    public static func seconds(_ samples: Int) -> Double { Double(samples) / Double(sampleRate) }
    public static func samples(ms: Int) -> Int { ms * sampleRate / 1000 }
    public static func samples(seconds: Double) -> Int { Int((seconds * Double(sampleRate)).rounded()) }
}
