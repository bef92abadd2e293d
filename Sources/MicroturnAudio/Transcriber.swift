import CPocketSphinx
import Foundation

/// Open-vocabulary transcription with PocketSphinx and Debian's en-us language model: the
/// background server's built-in (an OpenAI-compatible endpoint does better where there is one).
/// It is weak on synthetic voices and noise; it is what a fresh machine has. One thread at a time.
public final class Transcriber {
    private let decoder: OpaquePointer
    /// A streamed utterance is open (`begin` until `end`).
    private var inUtterance = false

    public init(modelDirectory: String = CommandRecognizer.defaultModel) throws(AudioError) {
        let hmm = modelDirectory + "/en-us", lm = modelDirectory + "/en-us.lm.bin", dict = modelDirectory + "/cmudict-en-us.dict"
        for path in [hmm, lm, dict] where !FileManager.default.fileExists(atPath: path) {
            throw .speech(reason: "PocketSphinx model file \(path) is missing; install pocketsphinx-en-us (apt-get install pocketsphinx-en-us)")
        }
        guard let d = CommandRecognizer.makeDecoder(hmm: hmm, dict: dict, extra: ["-lm", lm]) else {
            throw .speech(reason: "PocketSphinx failed to start with the language model in \(modelDirectory)")
        }
        decoder = d
    }

    deinit { ps_free(decoder) }

    /// The words heard in `audio` (16 kHz mono), "" for none.
    public func transcribe(_ audio: [Float]) throws(AudioError) -> String {
        if inUtterance { _ = end() }
        let pcm = audio.map(SampleConversion.int16)
        guard ps_start_utt(decoder) >= 0 else { throw .speech(reason: "PocketSphinx: ps_start_utt failed") }
        let fed = pcm.withUnsafeBufferPointer { ps_process_raw(decoder, $0.baseAddress, $0.count, 0, 1) }
        guard fed >= 0, ps_end_utt(decoder) >= 0 else { throw .speech(reason: "PocketSphinx could not decode the utterance") }
        var score: Int32 = 0
        return ps_get_hyp(decoder, &score).map { String(cString: $0) } ?? ""
    }
}

extension Transcriber {
    /// Streaming: begins an utterance that `feed` adds to as it is spoken; `words()` tells what was
    /// heard so far at any time (a partial hypothesis: it may change as more is heard).
    public func begin() throws(AudioError) {
        if inUtterance { ps_end_utt(decoder) }
        guard ps_start_utt(decoder) >= 0 else { throw .speech(reason: "PocketSphinx: ps_start_utt failed") }
        inUtterance = true
    }

    /// Adds 16 kHz mono audio to the utterance begun.
    public func feed(_ audio: [Float]) throws(AudioError) {
        guard inUtterance else { return }
        let pcm = audio.map(SampleConversion.int16)
        let fed = pcm.withUnsafeBufferPointer { ps_process_raw(decoder, $0.baseAddress, $0.count, 0, 0) }
        guard fed >= 0 else { throw .speech(reason: "PocketSphinx could not decode the audio") }
    }

    /// The words heard so far in the utterance ("" for none).
    public func words() -> String {
        var score: Int32 = 0
        return ps_get_hyp(decoder, &score).map { String(cString: $0) } ?? ""
    }

    /// Ends the utterance; its final words.
    public func end() -> String {
        guard inUtterance else { return "" }
        inUtterance = false
        ps_end_utt(decoder)
        return words()
    }
}
