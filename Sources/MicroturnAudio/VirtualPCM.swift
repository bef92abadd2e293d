import Foundation

/// In-memory ALSA definitions for simulation: alsa-lib's `file` plugin over a `null` slave.
/// A capture PCM returns the bytes of a raw file; a playback PCM writes what is played to a file.
/// They go through the very same `AlsaPCM` code as hardware; only the pacing differs (the pair is
/// not paced by a clock, so the device threads pace it themselves).
public enum VirtualPCM {
    public static func captureDefinition(name: String, rawInput: String) -> String {
        "pcm.\(name) { type file slave { pcm { type null } } file \"/dev/null\" infile \(quoted(rawInput)) format \"raw\" }"
    }

    public static func playbackDefinition(name: String, rawOutput: String) -> String {
        "pcm.\(name) { type file slave { pcm { type null } } file \(quoted(rawOutput)) format \"raw\" }"
    }

    /// ALSA configuration string literal.
    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
