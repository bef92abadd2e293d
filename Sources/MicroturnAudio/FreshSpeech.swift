import Foundation
import MicroturnCore

/// Speech that comes out the same every time: each utterance rendered by a fresh `espeak-ng`
/// process (the command, Debian's package of that name), for test and benchmark material.
/// In one process libespeak-ng carries state from one utterance to the next (its pitch flutter's
/// phase, among others), so `SpeechSynthesizer` renders the same text and voice a little
/// differently depending on what the process said before (18,556, 18,565 and 18,563 samples for
/// three "never mind"s in a row; 19,335 after a long sentence), and a spoken command in a test
/// could land on either side of the recognizer's margin. A fresh process is always at the start.
/// It renders what the first `SpeechSynthesizer` utterance of a process would (no final pause).
public struct FreshSpeech: Sendable {
    public let voice: SpeechSynthesizer.Voice

    public init(voice: SpeechSynthesizer.Voice = .init()) {
        self.voice = voice
    }

    /// `text` at 16 kHz mono, at the voice's gain.
    public func synthesize(_ text: String) throws(AudioError) -> [Float] {
        // espeak-ng writes no file for nothing to say.
        guard text.contains(where: { !$0.isWhitespace }) else { return [] }
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("fresh-speech-\(UUID().uuidString).wav").path
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // -z: no pause after the last sentence, as the library is called; the text on stdin, so
        // that one starting with "-" is not taken for an option.
        p.arguments = ["espeak-ng", "-z", "-v", voice.name, "-s", "\(voice.rateWpm)", "-p", "\(voice.pitch)", "-w", wav]
        let input = Pipe(), errors = Pipe()
        p.standardInput = input
        p.standardError = errors
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw .speech(reason: "cannot run espeak-ng (\(error.localizedDescription)); install it: apt-get install espeak-ng")
        }
        try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        try? input.fileHandleForWriting.close()
        let said = (try? errors.fileHandleForReading.readToEnd()).flatMap { $0.flatMap { String(data: $0, encoding: .utf8) } } ?? ""
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let reason = p.terminationStatus == 127 ? "the espeak-ng command is missing; install it: apt-get install espeak-ng"
                : "espeak-ng failed (exit \(p.terminationStatus)): \(said.trimmingCharacters(in: .whitespacesAndNewlines))"
            throw .speech(reason: reason)
        }
        let file = try WavFile.read(path: wav)
        guard file.channels == 1, !said.contains("Error") else {
            throw .speech(reason: "espeak-ng could not say that with voice '\(voice.name)': \(said.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let gain = Float(pow(10, voice.gainDb / 20))
        return try Resampler(from: file.sampleRate, to: ProcessingFormat.sampleRate).process(file.samples).map { $0 * gain }
    }
}
