import MicroturnAudio
import MicroturnCore

/// Speech on its way to the loudspeaker. Synthesis streams chunks into the playback ring as they
/// are made; what does not fit yet waits here and is topped up every frame. `cancel` drops it all.
final class SpeechOut {
    private let audio: DuplexAudio
    private let synthesizer: SpeechSynthesizer
    private var pending: [Float] = []
    private var sent = 0

    init(audio: DuplexAudio, synthesizer: SpeechSynthesizer) {
        self.audio = audio
        self.synthesizer = synthesizer
    }

    /// Samples synthesized but not yet handed to playback.
    var backlog: Int { pending.count - sent }

    func say(_ text: String) throws(AudioError) {
        try synthesizer.speak(text) { chunk in
            pending.append(contentsOf: chunk)
            pump()
            return true
        }
    }

    /// Moves what fits from the backlog into the playback ring.
    func pump() {
        guard sent < pending.count else { return }
        let n = pending.withUnsafeBufferPointer { audio.speech.write(UnsafeBufferPointer(rebasing: $0[sent...])) }
        sent += n
        if sent == pending.count {
            pending.removeAll(keepingCapacity: true)
            sent = 0
        }
    }

    func cancel() {
        pending.removeAll(keepingCapacity: true)
        sent = 0
        audio.flushPlayback()
    }
}
