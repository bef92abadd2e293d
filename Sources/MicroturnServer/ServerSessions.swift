import Foundation
import MicroturnLink
import Synchronization

/// The server's link sessions, by resume token: they outlive connections, so a device that
/// reconnects (to this instance) resumes where it was, with nothing lost and nothing run twice.
/// Every task id is run once; a TASK seen again is answered from what that run made. Speech for a
/// task arrives first as AUDIO frames of the stream it names, and is kept until the task comes.
public final class ServerSessions: Sendable {
    /// A task to run, with its speech as Opus packets.
    public struct Job: Sendable {
        public var task: Microturn_Link_V1_Task
        public var opus: [Data]
    }

    struct Session {
        var id: String
        var deviceId: String
        var channel = ReliableChannel()
        /// Answers made, by task id (a repeat of a task is answered from here).
        var answers: [String: Microturn_Link_V1_Result] = [:]
        var running: Set<String> = []
        /// Opus packets by stream id, until their task comes (bounded: the oldest stream goes).
        var streams: [String: [Data]] = [:]
        var streamOrder: [String] = []
        /// Reliable bodies waiting for window (sent when acks or credit come).
        var waiting: [LinkBody] = []

        mutating func drain(now: UInt64) -> [LinkFrame] {
            var out: [LinkFrame] = []
            while let body = waiting.first, let f = channel.send(body, now: now) {
                waiting.removeFirst()
                out.append(f)
            }
            return out
        }
    }

    static let maxStreams = 16
    static let maxPacketsPerStream = 3000  // 60 s of 20 ms packets

    private let sessions = Mutex<[Data: Session]>([:])
    private let counter = Atomic<Int>(0)
    public let resumeTTLSeconds: UInt32 = 7200

    public init() {}

    /// A HELLO: the session it resumes (with what to send it again), or a new one.
    func open(_ hello: Microturn_Link_V1_Hello, now: UInt64) throws(LinkError) -> (token: Data, welcome: Microturn_Link_V1_Welcome, replay: [LinkFrame]) {
        try sessions.withLock { (all: inout [Data: Session]) throws(LinkError) in
            var welcome = Microturn_Link_V1_Welcome()
            welcome.protocolVersion = 1
            welcome.heartbeatMs = 1000
            welcome.resumeTtlS = resumeTTLSeconds
            welcome.window = 64
            if !hello.resumeToken.isEmpty, var s = all[hello.resumeToken], s.deviceId == hello.deviceID {
                s.channel.grant(window: UInt64(max(1, hello.window)))
                let replay = try s.channel.replay(after: hello.received, now: now) + s.drain(now: now)
                welcome.sessionID = s.id
                welcome.resumeToken = hello.resumeToken
                welcome.resumed = true
                welcome.received = s.channel.received
                all[hello.resumeToken] = s
                return (hello.resumeToken, welcome, replay)
            }
            let token = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
            var s = Session(id: "s\(counter.add(1, ordering: .relaxed).newValue)", deviceId: hello.deviceID)
            s.channel.grant(window: UInt64(max(1, hello.window)))
            welcome.sessionID = s.id
            welcome.resumeToken = token
            all[token] = s
            return (token, welcome, [])
        }
    }

    /// A frame from the session's device: the frames to send back now (answers already made,
    /// PONG, an ACK-only when due), and the tasks to run (each id once).
    func receive(_ frame: LinkFrame, token: Data, now: UInt64) throws(LinkError) -> (frames: [LinkFrame], jobs: [Job]) {
        try sessions.withLock { (all: inout [Data: Session]) throws(LinkError) -> ([LinkFrame], [Job]) in
            guard var s = all[token] else { throw .cannotReplay(from: 0, oldest: 0) }
            defer { all[token] = s }
            var out: [LinkFrame] = [], jobs: [Job] = []
            switch try s.channel.receive(frame, now: now) {
            case let .audio(a)?:
                if s.streams[a.streamID] == nil {
                    s.streamOrder.append(a.streamID)
                    if s.streamOrder.count > Self.maxStreams { s.streams[s.streamOrder.removeFirst()] = nil }
                }
                if s.streams[a.streamID, default: []].count < Self.maxPacketsPerStream { s.streams[a.streamID, default: []] += a.opus }
            case let .task(task)?:
                if let done = s.answers[task.taskID] {
                    s.waiting.append(.result(done))
                } else if !s.running.contains(task.taskID) {
                    s.running.insert(task.taskID)
                    jobs.append(Job(task: task, opus: s.streams.removeValue(forKey: task.streamID) ?? []))
                    s.streamOrder.removeAll { $0 == task.streamID }
                }
            case let .ping(ping)?:
                out.append(s.channel.control(.pong(Heartbeat.pong(ping))))
            default:
                break
            }
            out += s.drain(now: now)
            if out.isEmpty && s.channel.ackDue(now: now) { out.append(s.channel.control(.ackOnly(.init()))) }
            return (out, jobs)
        }
    }

    /// A task's answer is made: the frames that carry it (sent now if the window allows; kept for
    /// the device's next resume in any case).
    func answer(_ result: Microturn_Link_V1_Result, token: Data, now: UInt64) -> [LinkFrame] {
        sessions.withLock { all in
            guard var s = all[token] else { return [] }
            defer { all[token] = s }
            s.running.remove(result.taskID)
            s.answers[result.taskID] = result
            s.waiting.append(.result(result))
            return s.drain(now: now)
        }
    }

    /// An unreliable frame for the session (a PING), carrying its acknowledgement.
    func control(_ body: LinkBody, token: Data) -> LinkFrame? {
        sessions.withLock { all in
            guard var s = all[token] else { return nil }
            defer { all[token] = s }
            return s.channel.control(body)
        }
    }

    /// Sessions open (connected or waiting to be resumed).
    public var count: Int { sessions.withLock { $0.count } }
}
