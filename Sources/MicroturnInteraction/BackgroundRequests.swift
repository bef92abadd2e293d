import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnLink
import Synchronization

/// Requests for the background server over the link (`link.server`): the user's speech goes up as
/// Opus in AUDIO frames, then a TASK; answers come back on the link's thread and wait in an inbox
/// until the frame loop takes them and queues them to be said. While the link is down, a request
/// waits in the client's outbox and the user is told so; its answer, when it comes, is said as a
/// late one.
final class BackgroundRequests {
    static let offlineReply = "I'm offline right now; I'll answer when I'm back."
    static let lateIntro = "About what you asked earlier: "
    /// 60 ms of speech per AUDIO frame (PROTOCOL.md: why 3 packets).
    static let packetsPerFrame = 3

    private let client: LinkClient
    private let inbox: Inbox
    private let encoder: Opus.Encoder
    private let deviceId: String
    /// On the virtual clock a request waits (wall time, at most this long) for its answer, so that
    /// a run on files says it at the same point every time, as an instant server would.
    private let awaitAnswerSeconds: Double?
    /// Task ids asked while the link was down: their answers are introduced as late.
    private var askedOffline: Set<String> = []
    private var counter = 0
    private let session = UUID().uuidString.prefix(8)

    /// Answers from the link's thread to the frame loop.
    final class Inbox: Sendable {
        let answers = Mutex<[Microturn_Link_V1_Result]>([])
        let arrived = DispatchSemaphore(value: 0)
    }

    init(config: MicroturnConfig.Link, awaitAnswerSeconds: Double?) throws(AudioError) {
        guard let (host, port) = Endpoint.parse(config.server) else {
            throw .fileIO(path: config.server, reason: "link.server must be HOST:PORT")
        }
        deviceId = config.deviceId.isEmpty ? ProcessInfo.processInfo.hostName : config.deviceId

        let inbox = Inbox()
        self.inbox = inbox
        encoder = try Opus.Encoder(settings: .init(bitrate: 16_000))
        self.awaitAnswerSeconds = awaitAnswerSeconds
        let options = LinkClient.Options(host: host, port: port, deviceId: deviceId,
                                         credentials: config.plaintext ? nil : .device(in: config.directory))
        do {
            client = try LinkClient(options: options) { answer in
                inbox.answers.withLock { $0.append(answer) }
                inbox.arrived.signal()
            }
        } catch {
            throw .fileIO(path: config.directory, reason: "the link's credentials: \(error)")
        }
        client.start()
    }

    func stop() { client.stop() }

    var isUp: Bool { client.isUp }

    /// Sends a request: its speech (16 kHz) and what the device heard of it. Returns its task id.
    func send(_ audio: [Float], transcript: String?, endUs: UInt64) throws(AudioError) -> String {
        counter += 1
        let taskId = "\(deviceId)-\(session)-\(counter)"
        var bodies: [LinkBody] = []
        let usable = audio.count / Opus.frameSamples * Opus.frameSamples
        let chunk = Self.packetsPerFrame * Opus.frameSamples
        for start in stride(from: 0, to: usable, by: chunk) {
            var a = Microturn_Link_V1_Audio()
            a.streamID = taskId
            a.firstPacket = UInt32(start / Opus.frameSamples)
            a.captureTimeUs = endUs &- UInt64(usable - start) * 1_000_000 / UInt64(ProcessingFormat.sampleRate)
            for f in stride(from: start, to: min(start + chunk, usable), by: Opus.frameSamples) {
                a.opus.append(Data(try encoder.encode(audio[f..<f + Opus.frameSamples])))
            }
            a.end = start + chunk >= usable
            bodies.append(.audio(a))
        }
        var task = Microturn_Link_V1_Task()
        task.taskID = taskId
        task.streamID = taskId
        task.transcript = transcript ?? ""
        task.timeUs = endUs
        bodies.append(.task(task))
        let online = client.isUp
        if !online { askedOffline.insert(taskId) }
        client.submit(bodies)
        if online, let wait = awaitAnswerSeconds { waitForAnswer(taskId, seconds: wait) }
        return taskId
    }

    /// Answers that have come, as utterances for the queue (said when the user is done).
    func takeAnswers() -> [(taskId: String, utterance: Utterance)] {
        inbox.answers.withLock { all in
            defer { all.removeAll() }
            return all.map { r in
                let late = askedOffline.remove(r.taskID) != nil
                return (r.taskID, Utterance(text: (late ? Self.lateIntro : "") + r.text, kind: .answer, condition: .userDone,
                                            deadline: .max))
            }
        }
    }

    private func waitForAnswer(_ taskId: String, seconds: Double) {
        let deadline = DispatchTime.now() + seconds
        while !inbox.answers.withLock({ $0.contains { $0.taskID == taskId } }) {
            if inbox.arrived.wait(timeout: deadline) == .timedOut { return }
        }
    }
}
