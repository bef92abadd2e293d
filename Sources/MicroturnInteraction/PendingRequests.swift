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
        try write(r)
        nextId += 1
        requests.append(r)
        let evicted = requests.count > memoryLimit ? requests.removeFirst() : nil
        return (r, evicted)
    }

    /// Puts a request in place of request `id` (the rest of a turn joined to its first part, asked
    /// whole): it keeps the id, and its files are written over, so the first part is not kept
    /// twice. Returns nil, keeping nothing, when `id` is not one memory holds.
    public func replace(_ id: Int, time: Double, audio: [Float], transcript: String?) throws(AudioError) -> Request? {
        guard let index = requests.firstIndex(where: { $0.id == id }) else { return nil }
        let r = Request(id: id, time: time, audio: audio, transcript: transcript)
        try write(r)
        requests[index] = r
        return r
    }

    /// The request `id`, while memory holds it.
    public func request(_ id: Int) -> Request? { requests.first { $0.id == id } }

    /// Writes `r` to the folder, if there is one (atomically: a request written over is whole,
    /// old or new, whenever the process stops).
    private func write(_ r: Request) throws(AudioError) {
        guard let directory else { return }
        let base = "\(directory)/" + String(format: "%04d", r.id)
        try WavFile(sampleRate: ProcessingFormat.sampleRate, channels: 1, samples: r.audio).write(path: base + ".wav")
        let json = "{\"id\":\(r.id),\"time\":\(Event.format(r.time)),\"transcript\":\(r.transcript.map(JSONText.quote) ?? "null")}\n"
        do { try json.write(toFile: base + ".json", atomically: true, encoding: .utf8) } catch {
            throw .fileIO(path: base + ".json", reason: "cannot write (\(error.localizedDescription))")
        }
    }
}
