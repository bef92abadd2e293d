import Foundation
import MicroturnLink
import Synchronization

/// The server's link sessions, by resume token: they outlive connections, so a device that
/// reconnects (to this instance) resumes where it was, with nothing lost and nothing run twice.
/// Every task id is answered once; a TASK seen again gets the answer already made.
public final class ServerSessions: Sendable {
    struct Session {
        var id: String
        var deviceId: String
        var channel = ReliableChannel()
        /// Answers made, by task id (a repeat of a task is answered from here).
        var answers: [String: Microturn_Link_V1_Result] = [:]
        /// Reliable bodies waiting for window (sent when acks or credit come).
        var waiting: [LinkBody] = []
    }

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
                let replay = try s.channel.replay(after: hello.received, now: now)
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

    /// A frame from the session's device: the frames to send back (answers, an ACK-only when due).
    func receive(_ frame: LinkFrame, token: Data, now: UInt64, worker: (Microturn_Link_V1_Task) -> Microturn_Link_V1_Result) throws(LinkError) -> [LinkFrame] {
        try sessions.withLock { (all: inout [Data: Session]) throws(LinkError) -> [LinkFrame] in
            guard var s = all[token] else { throw .cannotReplay(from: 0, oldest: 0) }
            defer { all[token] = s }
            var out: [LinkFrame] = []
            switch try s.channel.receive(frame, now: now) {
            case let .task(task)?:
                let result = s.answers[task.taskID] ?? worker(task)
                s.answers[task.taskID] = result
                s.waiting.append(.result(result))
            case let .ping(ping)?:
                var pong = Microturn_Link_V1_Pong()
                pong.nonce = ping.nonce
                pong.sentUs = ping.sentUs
                out.append(s.channel.control(.pong(pong)))
            default:
                break
            }
            while let body = s.waiting.first, let f = s.channel.send(body, now: now) {
                s.waiting.removeFirst()
                out.append(f)
            }
            if out.isEmpty && s.channel.ackDue(now: now) { out.append(s.channel.control(.ackOnly(.init()))) }
            return out
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
