import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnLink

/// A task's third stage: each sentence of the answer spoken (espeak-ng) and encoded as Opus in the
/// link's AUDIO frames (`LinkAudio`), sent ahead of the RESULT part that names their
/// stream. Only for a device that asked for the server's speech (HELLO capability "speech:opus16k");
/// any other says the text itself.
public struct SpeechStage: Sendable {
    public static let capability = LinkCapabilities.serverSpeech
    /// Who makes the speech: espeak-ng here, or an OpenAI-compatible `/audio/speech` (in its
    /// `voice`; a translation's language is then in its text only, as OpenAI's voices are
    /// multilingual and its voice names are not languages).
    public enum Source: Sendable {
        case espeak(SpeechSynthesizer)
        case remote(OpenAIAudio, voice: String)
    }
    public let source: Source
    let opus: Opus.Settings

    public init(voice: SpeechSynthesizer.Voice = .init(), opus: Opus.Settings = .init()) throws(AudioError) {
        let synthesizer = try SpeechSynthesizer(voice: voice)
        // A voice espeak-ng does not have is found now, not at the first answer.
        _ = try synthesizer.synthesize("ok")
        source = .espeak(synthesizer)
        self.opus = opus
    }

    public init(remote: OpenAIAudio, voice: String, opus: Opus.Settings = .init()) {
        source = .remote(remote, voice: voice)
        self.opus = opus
    }

    /// `text` as 16 kHz speech, handed to `deliver` in chunks as it is made (returns false to stop).
    func synthesize(_ text: String, voice: String?, deliver: ([Float]) -> Bool) throws(AudioError) {
        switch source {
        case let .espeak(synthesizer):
            try synthesizer.inVoice(voice).speak(text, deliver: deliver)
        case let .remote(audio, name):
            do { _ = deliver(try audio.speak(text, voice: name)) } catch { throw .speech(reason: "\(error)") }
        }
    }

    /// Speaks `text` into the AUDIO frames of stream `streamID`, handing each to `send` as it is
    /// made (the first goes before the sentence is synthesized to its end). Returns the packets
    /// sent. `voice`: another espeak-ng voice than the stage's (a translation's language).
    @discardableResult
    public func speak(_ text: String, streamID: String, voice: String? = nil, send: (LinkBody) -> Void) throws(AudioError) -> Int {
        let encoder = try Opus.Encoder(settings: opus)
        var pending: [Float] = [], packets = 0
        var frame = Microturn_Link_V1_Audio()
        frame.streamID = streamID
        var failure: AudioError?
        func flush(end: Bool) {
            guard !frame.opus.isEmpty || end else { return }
            frame.end = end
            send(.audio(frame))
            frame.firstPacket = UInt32(clamping: packets)
            frame.opus = []
        }
        try synthesize(text, voice: voice) { chunk in
            pending += chunk
            while pending.count >= Opus.frameSamples {
                do { frame.opus.append(Data(try encoder.encode(pending[0..<Opus.frameSamples]))) } catch {
                    failure = (error as? AudioError) ?? .speech(reason: "\(error)")
                    return false
                }
                pending.removeFirst(Opus.frameSamples)
                packets += 1
                if frame.opus.count == LinkAudio.packetsPerFrame { flush(end: false) }
            }
            return true
        }
        if let failure { throw failure }
        // The last packet is padded with silence.
        if !pending.isEmpty {
            pending += [Float](repeating: 0, count: Opus.frameSamples - pending.count)
            frame.opus.append(Data(try encoder.encode(pending[...])))
            packets += 1
        }
        flush(end: true)
        return packets
    }
}
