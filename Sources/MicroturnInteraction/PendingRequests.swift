import Foundation
import MicroturnAudio
import MicroturnCore

/// Speech that was not a local command, kept for the background server (the link sends it later).
/// With a folder, each request is also written there at once (NNNN.wav + NNNN.json), so nothing is
/// lost if the process stops before the link takes it.
public final class PendingRequests {
    public struct Request: Sendable, Equatable {
        public var id: Int
        /// Capture-clock time of the end of the user's speech, seconds.
        public var time: Double
        /// The user's speech, 16 kHz mono, as heard after echo cancellation.
        public var audio: [Float]
        public var transcript: String?
    }

    public private(set) var requests: [Request] = []
    public let directory: String?

    public init(directory: String?) { self.directory = directory }

    @discardableResult
    public func add(time: Double, audio: [Float], transcript: String?) throws(AudioError) -> Request {
        let r = Request(id: requests.count + 1, time: time, audio: audio, transcript: transcript)
        requests.append(r)
        if let directory {
            let base = "\(directory)/" + String(format: "%04d", r.id)
            try WavFile(sampleRate: ProcessingFormat.sampleRate, channels: 1, samples: audio).write(path: base + ".wav")
            let json = "{\"id\":\(r.id),\"time\":\(Event.format(time)),\"transcript\":\(transcript.map(JSONText.quote) ?? "null")}\n"
            do { try json.write(toFile: base + ".json", atomically: true, encoding: .utf8) } catch {
                throw .fileIO(path: base + ".json", reason: "cannot write (\(error.localizedDescription))")
            }
        }
        return r
    }
}
