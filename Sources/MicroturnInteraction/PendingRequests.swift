import Foundation
import MicroturnAudio
import MicroturnCore

/// Speech that was not a local command, kept for the background server (the link sends it later).
/// With a folder, each request is also written there at once (NNNN.wav + NNNN.json), so nothing is
/// lost if the process stops before the link takes it; ids go on from the highest already there,
/// so a restart never overwrites one. Memory holds only the latest `memoryLimit` requests (a
/// device runs for months); older ones are in the folder, or, without one, gone (`add` says which).
public final class PendingRequests {
    public struct Request: Sendable, Equatable {
        public var id: Int
        /// Capture-clock time of the end of the user's speech, seconds.
        public var time: Double
        /// The user's speech, 16 kHz mono, as heard after echo cancellation.
        public var audio: [Float]
        public var transcript: String?
        public var samples: Int { audio.count }
    }

    public private(set) var requests: [Request] = []
    public let directory: String?
    public let memoryLimit: Int
    /// The id of this run's first request.
    public let firstId: Int
    private var nextId: Int

    public init(directory: String?, memoryLimit: Int = 32) throws(AudioError) {
        self.directory = directory
        self.memoryLimit = max(1, memoryLimit)
        guard let directory else {
            nextId = 1
            firstId = 1
            return
        }
        let files: [String]
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .fileIO(path: directory, reason: "cannot use as the requests folder (\(error.localizedDescription)); "
                          + "set commands.requests_directory to a folder this user may write")
        }
        // NNNN.wav / NNNN.json: the id is the name before the dot.
        let ids = files.compactMap { name in name.split(separator: ".").first.flatMap { Int($0) } }
        nextId = (ids.max() ?? 0) + 1
        firstId = nextId
    }

    /// Keeps a request; returns it, and the request that memory let go of (when there is no folder,
    /// that one is lost, and the caller says so).
    @discardableResult
    public func add(time: Double, audio: [Float], transcript: String?) throws(AudioError) -> (request: Request, evicted: Request?) {
        let r = Request(id: nextId, time: time, audio: audio, transcript: transcript)
        nextId += 1
        if let directory {
            let base = "\(directory)/" + String(format: "%04d", r.id)
            try WavFile(sampleRate: ProcessingFormat.sampleRate, channels: 1, samples: audio).write(path: base + ".wav")
            let json = "{\"id\":\(r.id),\"time\":\(Event.format(time)),\"transcript\":\(transcript.map(JSONText.quote) ?? "null")}\n"
            do { try json.write(toFile: base + ".json", atomically: true, encoding: .utf8) } catch {
                throw .fileIO(path: base + ".json", reason: "cannot write (\(error.localizedDescription))")
            }
        }
        requests.append(r)
        let evicted = requests.count > memoryLimit ? requests.removeFirst() : nil
        return (r, evicted)
    }
}
