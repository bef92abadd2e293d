import Foundation
import MicroturnAudio
import MicroturnCore

/// Spoken test lines, and for a local command a rendering the recognizer takes clearly.
/// In-process espeak-ng output shifts with what the process said before (the same text and voice
/// came out 15,332 or 15,503 samples long), so with tests running side by side a command could
/// fall near the recognizer's margin ("never mind" once heard as "quieter"). Tests about what a
/// session does with a command wait for a clear rendering instead.
enum ClearCommands {
    struct NotClear: Error { var text: String }
    /// Above the margin by this much (a one-word command such as "louder" scores 0.33-0.52 against its 0.3).
    static let cushion = 0.1

    /// `text` spoken by `synth` at `gain`.
    static func speech(_ text: String, _ synth: SpeechSynthesizer, gain: Float) throws -> [Float] {
        let phrases = MicroturnConfig().commands.phrases
        guard phrases.contains(text) else { return try synth.synthesize(text).map { $0 * gain } }
        let recognizer = try CommandRecognizer(phrases: phrases)
        for _ in 0..<8 {
            let s = try synth.synthesize(text).map { $0 * gain }
            recognizer.begin()
            let padded = [Float](repeating: 0, count: 3200) + s + [Float](repeating: 0, count: 3200)
            for i in stride(from: 0, to: padded.count, by: 320) { recognizer.feed(Array(padded[i..<min(padded.count, i + 320)])) }
            let heard = recognizer.finish()
            // Clear: a cushion above the margin the recognizer asks of a phrase this long.
            let words = Double(text.split(separator: " ").count)
            if heard.phrase == text && heard.confidence >= recognizer.margin + recognizer.marginPerWord * (words - 1) + Self.cushion { return s }
        }
        throw NotClear(text: text)
    }
}
