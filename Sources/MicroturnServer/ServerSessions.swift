import Foundation
import MicroturnInference
import MicroturnCore
import MicroturnLink
import NIOCore
import Synchronization

/// The server's link sessions, by resume token: they outlive connections, so a device that
/// reconnects (to this instance) resumes where it was, with nothing lost and nothing run twice.
/// A device has one session: a new one (after the device restarted, or this server did) replaces
/// its old one. A TASK becomes a job once per device and task id while it runs here; the job
/// answers from the task store when the task was answered before (in any session, by any
/// instance), and runs the worker only otherwise.
/// Speech for a task arrives first as AUDIO frames of the stream it names, and is kept until the
/// task comes.
///
/// Frames of a session are numbered only on its connection's event loop, so they go out in the
/// order of their numbers.
public final class ServerSessions: Sendable {
    /// A task to run, with its device and its speech as Opus packets.
    public struct Job: Sendable {
        public var deviceId: String
        public var task: Microturn_Link_V1_Task
        public var opus: [Data]
        /// Set when the device says the answer is no longer wanted (its playback was cut).
        public var cancellation = Cancellation()
        /// What the device said it can do (HELLO), when the task came.
        public var capabilities: [String] = []
    }

    /// A TOOL_CALL sent to a device, until its TOOL_RESULT comes.
    final class DeviceCall: Sendable {
        let answered = DispatchSemaphore(value: 0)
        let result = Mutex<Microturn_Link_V1_ToolResult?>(nil)
    }

    struct Session {
        var id: String
        var deviceId: String
        var capabilities: [String] = []
        var channel = ReliableChannel()
        /// Opus packets by stream id, until their task comes (bounded: the oldest stream goes).
        var streams: [String: [Data]] = [:]
        var streamOrder: [String] = []
        /// Reliable bodies waiting for window or for a connection.
        var waiting: [LinkBody] = []
        /// The connection the session is on now, if any; when the last one closed, if none.
        var connection: Channel?
        var disconnectedAt: ContinuousClock.Instant?

        mutating func drain(now: UInt64) -> [LinkFrame] {
            var out: [LinkFrame] = []
            while let body = waiting.first, let f = channel.send(body, now: now) {
                waiting.removeFirst()
                out.append(f)
            }
            return out
        }
    }

    struct State {
        var sessions: [Data: Session] = [:]
        /// Each device's session.
        var tokenOf: [String: Data] = [:]
        /// Tasks running in this process, by "device\0task", with what cancels each.
        var running: [String: Cancellation] = [:]
        /// Tool calls waiting for their device, by call id.
        var calls: [String: DeviceCall] = [:]
    }

    static let maxStreams = 4
    static let maxPacketsPerStream = 3000  // 60 s of 20 ms packets

    private let state = Mutex(State())
    private let counter = Atomic<Int>(0)
    public let resumeTTLSeconds: UInt32 = 7200
    /// A device whose connection has been closed this long is gone: its running tasks stop (their
    /// answers are not stored, so the device gets a fresh one if it comes back and asks again).
    /// Far longer than an outage a device resumes from (it retries within a second of the
    /// network's return).
    public let deviceGoneAfter: Duration

    /// What the server does unasked (WELCOME capabilities), as the observer of its EVENTs does.
    let offers: [String]

    public init(deviceGoneAfter: Duration = .seconds(30), offers: [String] = []) {
        self.deviceGoneAfter = deviceGoneAfter
        self.offers = offers
    }

    static func key(_ device: String, _ task: String) -> String { device + "\u{0}" + task }

    /// A HELLO on `connection`: the session it resumes (with what to send it again), or a new one.
    func open(_ hello: Microturn_Link_V1_Hello, on connection: Channel, now: UInt64)
        throws(LinkError) -> (token: Data, welcome: Microturn_Link_V1_Welcome, replay: [LinkFrame]) {
        try state.withLock { (st: inout State) throws(LinkError) in
            var welcome = Microturn_Link_V1_Welcome()
            welcome.protocolVersion = 1
            welcome.heartbeatMs = UInt32(Heartbeat.interval.nanoseconds / 1_000_000)
            welcome.resumeTtlS = resumeTTLSeconds
            welcome.window = 64
            welcome.capabilities = offers
            welcome.software = "microturn-server \(MicroturnVersion.string)"
            if !hello.resumeToken.isEmpty, var s = st.sessions[hello.resumeToken], s.deviceId == hello.deviceID {
                s.connection = connection
                s.disconnectedAt = nil
                s.capabilities = hello.capabilities
                s.channel.grant(window: UInt64(max(1, hello.window)))
                let replay = try s.channel.replay(after: hello.received, now: now) + s.drain(now: now)
                welcome.sessionID = s.id
                welcome.resumeToken = hello.resumeToken
                welcome.resumed = true
                welcome.received = s.channel.received
                st.sessions[hello.resumeToken] = s
                return (hello.resumeToken, welcome, replay)
            }
            // A new session: the device's old one (if any) is gone for good.
            if let old = st.tokenOf[hello.deviceID] { st.sessions[old] = nil }
            let token = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
            var s = Session(id: "s\(counter.add(1, ordering: .relaxed).newValue)", deviceId: hello.deviceID, capabilities: hello.capabilities)
            s.connection = connection
            s.channel.grant(window: UInt64(max(1, hello.window)))
            welcome.sessionID = s.id
            welcome.resumeToken = token
            st.sessions[token] = s
            st.tokenOf[hello.deviceID] = token
            return (token, welcome, [])
        }
    }

    /// A frame from the session's device: the frames to send back now (answers already made,
    /// PONG, an ACK-only when due), and the tasks to run (each once).
    func receive(_ frame: LinkFrame, token: Data, now: UInt64) throws(LinkError)
        -> (frames: [LinkFrame], jobs: [Job], events: [(device: String, capabilities: [String], event: Microturn_Link_V1_Event)]) {
        try state.withLock { (st: inout State) throws(LinkError) -> ([LinkFrame], [Job], [(device: String, capabilities: [String], event: Microturn_Link_V1_Event)]) in
            guard var s = st.sessions[token] else { throw .cannotReplay(from: 0, oldest: 0) }
            defer { st.sessions[token] = s }
            var out: [LinkFrame] = [], jobs: [Job] = [], events: [(device: String, capabilities: [String], event: Microturn_Link_V1_Event)] = []
            switch try s.channel.receive(frame, now: now) {
            case let .audio(a)?:
                if s.streams[a.streamID] == nil {
                    s.streamOrder.append(a.streamID)
                    if s.streamOrder.count > Self.maxStreams { s.streams[s.streamOrder.removeFirst()] = nil }
                }
                if s.streams[a.streamID, default: []].count < Self.maxPacketsPerStream { s.streams[a.streamID, default: []] += a.opus }
            case let .task(task)?:
                let opus = s.streams.removeValue(forKey: task.streamID) ?? []
                s.streamOrder.removeAll { $0 == task.streamID }
                let key = Self.key(s.deviceId, task.taskID)
                if st.running[key] == nil {
                    let job = Job(deviceId: s.deviceId, task: task, opus: opus, capabilities: s.capabilities)
                    st.running[key] = job.cancellation
                    jobs.append(job)
                }
            case let .event(event)?:
                // The user talked over an answer, or said "never mind": a task still working on it stops.
                if (event.kind == .playback && event.cut) || event.kind == .cancel { st.running[Self.key(s.deviceId, event.taskID)]?.cancel() }
                events.append((s.deviceId, s.capabilities, event))
            case let .toolResult(r)?:
                if let call = st.calls.removeValue(forKey: r.callID) {
                    call.result.withLock { $0 = r }
                    call.answered.signal()
                }
            case let .ping(ping)?:
                out.append(s.channel.control(.pong(Heartbeat.pong(ping))))
            default:
                break
            }
            out += s.drain(now: now)
            if out.isEmpty && s.channel.ackDue(now: now) { out.append(s.channel.control(.ackOnly(.init()))) }
            return (out, jobs, events)
        }
    }

    /// A job's answer (stored by then): delivered like any frame for its device (below); the task
    /// is no longer running.
    func finish(_ job: Job, answer: Microturn_Link_V1_Result) {
        defer { _ = state.withLock { $0.running.removeValue(forKey: Self.key(job.deviceId, job.task.taskID)) } }
        deliver(.result(answer), to: job.deviceId)
    }

    /// A reliable frame for a device (an answer, a task's progress): queued on its current session,
    /// and written now if that session is connected (on its connection's event loop); otherwise it
    /// goes at the device's next resume (an answer also from the store when the device asks again
    /// in a new session).
    func deliver(_ body: LinkBody, to device: String) {
        let connection = state.withLock { st -> Channel? in
            guard let token = st.tokenOf[device] else { return nil }
            st.sessions[token]?.waiting.append(body)
            return st.sessions[token]?.connection
        }
        guard let connection else { return }
        connection.eventLoop.execute { [self] in
            let frames = state.withLock { st -> [LinkFrame] in
                guard let token = st.tokenOf[device], st.sessions[token]?.connection === connection else { return [] }
                return st.sessions[token]?.drain(now: MonotonicClock.now() / 1000) ?? []
            }
            for f in frames { connection.write(f, promise: nil) }
            connection.flush()
        }
    }

    /// Asks `device` to run a tool for `taskID` and waits (at most `timeout`, less if `cancellation`
    /// comes) for its TOOL_RESULT.
    func callDevice(_ device: String, taskID: String, name: String, arguments: String, timeout: Duration,
                    cancellation: Cancellation) -> ServerTools.Outcome {
        var c = Microturn_Link_V1_ToolCall()
        c.callID = UUID().uuidString
        c.taskID = taskID
        c.name = name
        c.argumentsJson = arguments
        let call = DeviceCall()
        state.withLock { $0.calls[c.callID] = call }
        defer { _ = state.withLock { $0.calls.removeValue(forKey: c.callID) } }
        deliver(.toolCall(c), to: device)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && !cancellation.isCancelled {
            guard call.answered.wait(timeout: .now() + 0.05) == .timedOut else {
                let r = call.result.withLock { $0 } ?? Microturn_Link_V1_ToolResult()
                return r.error.isEmpty ? .result(r.resultJson) : .error(r.error)
            }
        }
        return .error(cancellation.isCancelled ? "the task was cancelled" : "the device did not answer within \(timeout)")
    }

    /// A job that will not finish here (the server stops): no longer running, so the device's
    /// next TASK for it (here after a restart, or elsewhere) runs it.
    func abandon(_ job: Job) {
        _ = state.withLock { $0.running.removeValue(forKey: Self.key(job.deviceId, job.task.taskID)) }
    }

    /// The connection of a session closed: its frames wait for the device's resume.
    func disconnected(token: Data, connection: Channel) {
        state.withLock { st in
            guard st.sessions[token]?.connection === connection else { return }
            st.sessions[token]?.connection = nil
            st.sessions[token]?.disconnectedAt = .now
        }
    }

    /// Run every few seconds: stops the running tasks of devices gone (`deviceGoneAfter`), and
    /// forgets sessions that can no longer be resumed (`resumeTTLSeconds`). Returns the devices
    /// whose tasks it stopped.
    func sweep(now: ContinuousClock.Instant = .now) -> [String] {
        state.withLock { st in
            var gone: [String] = []
            for (token, s) in st.sessions {
                guard let since = s.disconnectedAt else { continue }
                if now - since > .seconds(Int(resumeTTLSeconds)) {
                    st.sessions[token] = nil
                    if st.tokenOf[s.deviceId] == token { st.tokenOf[s.deviceId] = nil }
                }
                guard now - since > deviceGoneAfter else { continue }
                let prefix = Self.key(s.deviceId, "")
                let stopped = st.running.filter { $0.key.hasPrefix(prefix) && !$0.value.isCancelled }
                for (_, cancellation) in stopped { cancellation.cancel() }
                if !stopped.isEmpty { gone.append(s.deviceId) }
            }
            return gone
        }
    }

    /// Whether `device` is gone: its session has had no connection for `deviceGoneAfter`.
    func isGone(_ device: String, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { st in
            guard let token = st.tokenOf[device], let since = st.sessions[token]?.disconnectedAt else { return false }
            return now - since > deviceGoneAfter
        }
    }

    /// An unreliable frame for the session (a PING), carrying its acknowledgement.
    func control(_ body: LinkBody, token: Data) -> LinkFrame? {
        state.withLock { st in st.sessions[token]?.channel.control(body) }
    }

    /// The connections open now (to tell them GOAWAY when the server drains).
    var connections: [Channel] { state.withLock { $0.sessions.values.compactMap(\.connection) } }

    /// Sessions open (connected or waiting to be resumed).
    public var count: Int { state.withLock { $0.sessions.count } }
    /// Tasks running now.
    public var running: Int { state.withLock { $0.running.count } }
}
