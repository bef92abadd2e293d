import Foundation
import MicroturnAudio
import MicroturnLink
import Synchronization

/// The server's first worker: it decodes a task's speech (Opus), transcribes it with PocketSphinx
/// and Debian's en-us language model, and answers with what it heard. The background-reasoning
/// work puts a model behind the same `LinkServer.Worker` interface.
public final class TranscribingWorker: Sendable {
    /// A transcriber (its model loaded: that is what is slow), used by one worker thread at a
    /// time: taken from the pool under its lock and put back when done.
    final class Slot: @unchecked Sendable {
        let transcriber: Transcriber

        init(model: String) throws(AudioError) { transcriber = try Transcriber(modelDirectory: model) }
    }

    private let model: String
    private let idle = Mutex<[Slot]>([])

    /// Loads the model once now, so a missing model is an error at start, not at the first task.
    public init(model: String = CommandRecognizer.defaultModel) throws(AudioError) {
        self.model = model
        let first = try Slot(model: model)
        idle.withLock { $0.append(first) }
    }

    public func answer(_ job: ServerSessions.Job, _ report: TaskReport) -> Microturn_Link_V1_Result {
        var result = Microturn_Link_V1_Result()
        result.taskID = job.task.taskID
        result.final = true
        // The server's own transcript; the device's (what it heard locally) when there is no
        // speech or nothing came of it.
        var heard = ""
        var failed = false
        do { heard = try transcribe(job.opus) } catch { failed = true }
        if heard.isEmpty { heard = job.task.transcript }
        if !heard.isEmpty {
            result.text = "I heard: \(heard)."
        } else {
            result.text = failed ? "I got your request, but I could not process its audio." : "I got your request, but I could not make out the words."
        }
        return result
    }

    /// The words in a stream of Opus packets ("" for none or no speech).
    public func transcribe(_ packets: [Data]) throws(AudioError) -> String {
        guard !packets.isEmpty else { return "" }
        return try transcribe(pcm: try Self.decode(packets))
    }

    /// The words in 16 kHz mono speech.
    public func transcribe(pcm: [Float]) throws(AudioError) -> String {
        let slot: Slot
        if let pooled = idle.withLock({ $0.popLast() }) { slot = pooled } else { slot = try Slot(model: model) }
        defer { idle.withLock { $0.append(slot) } }
        return try slot.transcriber.transcribe(pcm)
    }

    /// A stream of Opus packets as 16 kHz PCM.
    public static func decode(_ packets: [Data]) throws(AudioError) -> [Float] {
        let decoder = try Opus.Decoder()  // each stream from a fresh state
        var pcm: [Float] = []
        pcm.reserveCapacity(packets.count * Opus.frameSamples)
        for packet in packets {
            // A packet that does not decode is concealed rather than ending the utterance.
            if let samples = try? decoder.decode([UInt8](packet)) { pcm += samples } else { pcm += try decoder.conceal() }
        }
        return pcm
    }
}
