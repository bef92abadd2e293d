import Foundation
import MicroturnAudio
import MicroturnCore

/// Speech on its way to the loudspeaker. Synthesis streams chunks into the playback ring as they
/// are made; what does not fit yet waits here and is topped up every frame. It keeps the whole
/// utterance, so a cut can say what was left unsaid (for "resume").
final class SpeechOut {
    private let audio: DuplexAudio
    private let synthesizer: SpeechSynthesizer
    private var utterance: [Float] = []
    private var sent = 0
    /// Capture-clock sample where the current utterance started to be heard.
    var startedAt: Int?
    static let ceiling: Float = 0.99
    /// Playback gain on top of the voice's own, dB.
    private(set) var gainDb = 0.0

    init(audio: DuplexAudio, synthesizer: SpeechSynthesizer) {
        self.audio = audio
        self.synthesizer = synthesizer
    }

    /// Samples synthesized but not yet handed to playback.
    var backlog: Int { utterance.count - sent }

    func say(_ text: String) throws(AudioError) {
        begin()
        let gain = Float(pow(10, gainDb / 20))
        try synthesizer.speak(text) { chunk in
            // Limit here, so that what playback writes (the echo canceller's reference) is exactly
            // what the loudspeaker plays: clipping later would make the echo nonlinear.
            utterance.append(contentsOf: chunk.map { max(-Self.ceiling, min(Self.ceiling, $0 * gain)) })
            pump()
            return true
        }
    }

    /// Plays samples again (what a cut left unsaid).
    func play(_ samples: [Float]) {
        begin()
        utterance = samples
        pump()
    }

    func changeGain(by db: Double) { gainDb = min(12, max(-30, gainDb + db)) }

    /// Moves what fits from the backlog into the playback ring.
    func pump() {
        guard sent < utterance.count else { return }
        sent += utterance.withUnsafeBufferPointer { audio.speech.write(UnsafeBufferPointer(rebasing: $0[sent...])) }
    }

    /// Stops speaking at capture time `time`; returns what was not yet heard.
    @discardableResult
    func cancel(at time: Int) -> [Float] {
        let heard = startedAt.map { min(utterance.count, max(0, time - $0)) } ?? 0
        let rest = Array(utterance[heard...])
        utterance.removeAll(keepingCapacity: true)
        sent = 0
        startedAt = nil
        audio.flushPlayback()
        return rest
    }

    private func begin() {
        utterance.removeAll(keepingCapacity: true)
        sent = 0
        startedAt = nil
    }
}
