import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnLink
import Synchronization

/// The server's speech of its answers, decoded as it arrives on the link's thread (never on the
/// frame loop: a long sentence is hundreds of packets) and kept by stream until the RESULT that
/// names it. The newest few streams are kept, each up to a minute; a stream with a packet that
/// does not decode is dropped whole (the device then says the text in its own voice).
final class ServerSpeech: Sendable {
    private struct Stream {
        var decoder: Opus.Decoder?
        var samples: [Float] = []
        var failed = false
    }

    private struct State {
        var streams: [String: Stream] = [:]
        var order: [String] = []
    }

    private let state = Mutex(State())
    static let streams = 8
    static let maxSamples = 60 * ProcessingFormat.sampleRate

    /// Decodes an AUDIO frame from the server into its stream.
    func add(_ audio: Microturn_Link_V1_Audio) {
        state.withLock { s in
            if s.streams[audio.streamID] == nil {
                s.order.append(audio.streamID)
                s.streams[audio.streamID] = Stream(decoder: try? Opus.Decoder())
                if s.order.count > Self.streams { s.streams[s.order.removeFirst()] = nil }
            }
            guard var stream = s.streams[audio.streamID], !stream.failed else { return }
            for packet in audio.opus where stream.samples.count < Self.maxSamples {
                guard let pcm = try? stream.decoder?.decode(Array(packet)) else {
                    stream.failed = true
                    break
                }
                stream.samples += pcm
            }
            s.streams[audio.streamID] = stream
        }
    }

    /// The samples of stream `id`, taken (nil: none came, or one packet did not decode).
    func take(_ id: String) -> [Float]? {
        state.withLock { s in
            s.order.removeAll { $0 == id }
            guard let stream = s.streams.removeValue(forKey: id), !stream.failed, !stream.samples.isEmpty else { return nil }
            return stream.samples
        }
    }
}
