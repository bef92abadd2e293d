import Foundation
import MicroturnCore
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The device's end of the link: connects, says HELLO (resuming its session when it has one),
/// sends requests in order, reconnects after any break with exponential backoff and jitter (at
/// most 0.75 s apart, ±20 %, for the first minute of an outage, so a short one ends in a resume within
/// about a second of the network coming back; then doubling up to the maximum), and
/// hands each request's answer on exactly once (with the parts of it that come ahead, as they
/// come: `final` marks the answer itself, which holds all of it). Requests are kept in a durable outbox until they
/// are answered: a new session (after this process or the server restarted) sends again every
/// request not yet answered, and the server answers a repeat from its task store.
/// Its state lives behind one lock; the connection's handler runs on the client's event loop.
public final class LinkClient: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var deviceId: String
        public var window: UInt32
        public var backoffFirstMs: Int
        public var backoffMaxMs: Int
        /// For this long after the link went down, attempts are at most `fastRetryMs` apart.
        public var fastPhaseSeconds: Double = 60
        public var fastRetryMs = 750
        /// The device's certificate, key and fleet CA for TLS; nil only for development on loopback.
        public var credentials: LinkTLS.Files?
        /// The durable outbox's file; nil keeps it in memory (nothing survives the process).
        public var outboxPath: String?
        /// Where to write the link's status for `microturn link status`; nil for nowhere.
        public var statusPath: String?
        /// What the device can do for the server, told in HELLO: its codec, and the tools it
        /// answers TOOL_CALLs for ("tool:reps", "tool:timer", "tool:volume", "tool:time").
        public var capabilities = [LinkCapabilities.opus]

        public init(host: String = "127.0.0.1", port: Int = 7741, deviceId: String, credentials: LinkTLS.Files?,
                    outboxPath: String? = nil, window: UInt32 = 64, backoffFirstMs: Int = 250, backoffMaxMs: Int = 30_000) {
            self.host = host
            self.credentials = credentials
            self.outboxPath = outboxPath
            self.port = port
            self.deviceId = deviceId
            self.window = window
            self.backoffFirstMs = backoffFirstMs
            self.backoffMaxMs = backoffMaxMs
        }
    }

    /// What the link is doing, for the interaction layer and `link status`.
    public enum Status: Sendable, Equatable {
        case connecting(attempt: Int)
        case up(session: String, resumed: Bool)
        case stopped
    }

    struct State {
        var channel = ReliableChannel()
        var token = Data()
        var unsent: [LinkBody] = []        // reliable bodies not yet numbered (window full, or offline)
        var connection: Channel?
        var welcomed = false               // the server has answered this connection's HELLO
        var status = Status.connecting(attempt: 0)
        var attempt = 0
        var stopping = false
        var connections = 0
        /// Why the last connection failed or was refused, until one is welcomed.
        var lastError: String?
        /// What the server said (WELCOME) it does unasked.
        var serverOffers: [String] = []
        var serverSoftware = ""
        var since = Date()
        var rttMs: Double?
        var statusWritten = Date.distantPast
    }

    public let options: Options
    let state = Mutex(State())
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let onAnswer: @Sendable (Microturn_Link_V1_Result) -> Void
    private let onToolCall: (@Sendable (Microturn_Link_V1_ToolCall) -> Void)?
    private let onSpeech: (@Sendable (Microturn_Link_V1_Audio) -> Void)?

    private let tls: NIOSSLContext?
    /// Requests until answered and handed on.
    public let outbox: LinkOutbox

    /// `onToolCall` runs the server's TOOL_CALLs (its answer goes back with `send`); without it a
    /// call is answered with an error at once. `onSpeech` takes the AUDIO of spoken answers, which
    /// come ahead of the RESULTs that name their streams.
    public init(options: Options, onToolCall: (@Sendable (Microturn_Link_V1_ToolCall) -> Void)? = nil,
                onSpeech: (@Sendable (Microturn_Link_V1_Audio) -> Void)? = nil,
                onAnswer: @escaping @Sendable (Microturn_Link_V1_Result) -> Void) throws(LinkSetupError) {
        self.onToolCall = onToolCall
        self.onSpeech = onSpeech
        self.options = options
        tls = try options.credentials.map { (files) throws(LinkSetupError) in try LinkTLS.clientContext(files) }
        outbox = try LinkOutbox(path: options.outboxPath)
        self.onAnswer = onAnswer
    }

    public var status: Status { state.withLock { $0.status } }
    /// Why the link is not up, if known (a refused certificate, a connection refused, a TLS failure).
    public var lastError: String? { state.withLock { $0.lastError } }
    /// What the server last welcomed us with saying it does unasked (LinkCapabilities).
    public var serverOffers: [String] { state.withLock { $0.serverOffers } }
    /// The server's name and version from its last WELCOME ("microturn-server 0.15.0").
    public var serverSoftware: String { state.withLock { $0.serverSoftware } }
    /// Connections made so far (each break and reconnect adds one).
    public var connections: Int { state.withLock { $0.connections } }
    /// Requests not done (waiting for their answer, or for it to be handed on).
    public var outboxDepth: Int { (try? outbox.depth()) ?? 0 }

    /// Connects; answers that came before a crash but were not handed on are handed on now.
    public func start() {
        for answer in (try? outbox.undelivered()) ?? [] { onAnswer(answer) }
        state.withLock { writeStatus(&$0, force: true) }
        connect(after: 0)
    }

    /// A request (its speech as AUDIO, then its TASK): written to the outbox (it throws if that
    /// fails: the request would not survive a crash), then sent now or as soon as the link and
    /// the window allow.
    public func submit(_ request: LinkOutbox.Request) throws {
        // Kept and queued under one lock: a new session starting in between (which sends every
        // kept request again) would otherwise send this one twice.
        let connection = try state.withLock { s throws -> Channel? in
            try outbox.add(request)
            s.unsent += request.bodies
            return s.connection
        }
        flush(on: connection)
    }

    /// A reliable frame that is not a request (an EVENT): sent in order with the rest, again after a
    /// resume; not kept in the outbox (a report lost with a crash is not worth a disk write).
    public func send(_ body: LinkBody) {
        let connection = state.withLock { s -> Channel? in
            s.unsent.append(body)
            return s.connection
        }
        flush(on: connection)
    }

    /// The user has the answer of `taskId` (said, or queued to be said).
    public func delivered(_ taskId: String) { try? outbox.delivered(taskId) }

    /// Numbers and writes what is unsent on the connection's event loop, where every other frame
    /// is: so the frames go out in the order of their numbers.
    private func flush(on connection: Channel?) {
        connection?.eventLoop.execute { [self] in
            let frames = state.withLock { s in s.connection === connection && s.welcomed ? Self.drain(&s) : [] }
            for f in frames { connection?.write(f, promise: nil) }
            connection?.flush()
        }
    }

    /// Whether the link is up now (a session welcomed on a live connection).
    public var isUp: Bool { state.withLock { $0.welcomed } }

    /// Breaks the connection as a network fault would (the tests' fault); the client reconnects
    /// and resumes. Returns whether there was a connection to break: one already broken, whose
    /// close the event loop has not yet noticed, is not (it is let go of here).
    @discardableResult
    public func dropConnection() -> Bool {
        guard let connection = state.withLock({ s -> Channel? in
            defer { s.connection = nil }
            return s.connection
        }) else { return false }
        connection.close(promise: nil)
        return true
    }

    public func stop() {
        let connection = state.withLock { s -> Channel? in
            s.stopping = true
            s.status = .stopped
            return s.connection
        }
        try? connection?.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// Numbers what the window allows of what is unsent.
    static func drain(_ s: inout State) -> [LinkFrame] {
        var frames: [LinkFrame] = []
        let now = MonotonicClock.now() / 1000
        while let body = s.unsent.first, let f = s.channel.send(body, now: now) {
            s.unsent.removeFirst()
            frames.append(f)
        }
        return frames
    }

    private func connect(after ms: Int) {
        let loop = group.next()
        loop.scheduleTask(in: .milliseconds(Int64(ms))) { [self] in
            guard !state.withLock({ $0.stopping }) else { return }
            ClientBootstrap(group: loop)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { [options, tls] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            // The server's certificate must name the host dialled (an address is
                            // checked against the certificate's addresses, and sends no SNI).
                            let isAddress = options.host.contains(":") || options.host.allSatisfy { $0.isNumber || $0 == "." }
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : options.host))
                        }
                        try channel.pipeline.syncOperations.addHandlers([
                            Heartbeat.handler(), FrameEncodingHandler(), FrameDecodingHandler(), ClientConnectionHandler(client: self),
                        ])
                    }
                }
                .connect(host: options.host, port: options.port)
                .whenFailure { [self] error in
                    failed("cannot connect to \(options.host):\(options.port): \(error)")
                    reconnect()
                }
        }
    }

    /// Notes why the link is not up (kept until a session is welcomed).
    func failed(_ reason: String) {
        state.withLock { s in
            guard s.lastError != reason else { return }
            s.lastError = reason
            writeStatus(&s, force: true)
        }
    }

    /// After a break: the next attempt, later each time (doubling, up to the maximum, ±20 %).
    func reconnect() {
        let delay = state.withLock { s -> Int? in
            s.connection = nil
            if s.welcomed {
                s.welcomed = false
                s.since = Date()
                writeStatus(&s, force: true)
            }
            guard !s.stopping else { return nil }
            s.attempt += 1
            s.status = .connecting(attempt: s.attempt)
            let cap = Date().timeIntervalSince(s.since) < options.fastPhaseSeconds ? min(options.fastRetryMs, options.backoffMaxMs) : options.backoffMaxMs
            let base = min(cap, options.backoffFirstMs << min(s.attempt - 1, 16))
            return Int(Double(base) * Double.random(in: 0.8...1.2))
        }
        if let delay { connect(after: delay) }
    }

    /// The connection is up: HELLO with the session to resume.
    func connected(_ channel: Channel) -> LinkFrame {
        state.withLock { s in
            s.connection = channel
            s.connections += 1
            var hello = Microturn_Link_V1_Hello()
            hello.protocolVersion = 1
            hello.deviceID = options.deviceId
            hello.resumeToken = s.token
            hello.received = s.channel.received
            hello.window = options.window
            hello.capabilities = options.capabilities
            hello.software = "microturn \(MicroturnVersion.string)"
            var f = LinkFrame()
            f.body = .hello(hello)
            f.ack = s.channel.received
            return f
        }
    }

    /// The status file, rewritten now (`force`: the link came up or went down) or when 30 s have
    /// passed. Called under the lock; the write is small and rare.
    func writeStatus(_ s: inout State, force: Bool) {
        guard let path = options.statusPath, force || Date().timeIntervalSince(s.statusWritten) >= 30 else { return }
        s.statusWritten = Date()
        var session: String?
        if case let .up(id, _) = s.status { session = id }
        LinkStatus(pid: getpid(), server: "\(options.host):\(options.port)", deviceId: options.deviceId, up: s.welcomed, since: s.since,
                   session: session, rttMs: s.rttMs, lastError: s.lastError, updated: Date()).write(to: path)
    }

    /// Whether a body belongs to a request (which the outbox keeps and sends again itself).
    static func isRequest(_ body: LinkBody) -> Bool {
        switch body {
        case .task, .audio: true
        default: false
        }
    }

    /// An unreliable frame carrying the current acknowledgement.
    func control(_ body: LinkBody) -> LinkFrame { state.withLock { $0.channel.control(body) } }

    /// A frame from the server: what to send back.
    func received(_ frame: LinkFrame) throws(LinkError) -> [LinkFrame] {
        let now = MonotonicClock.now() / 1000
        var answers: [Microturn_Link_V1_Result] = []
        var calls: [Microturn_Link_V1_ToolCall] = []
        var speech: [Microturn_Link_V1_Audio] = []
        let out = try state.withLock { (s: inout State) throws(LinkError) -> [LinkFrame] in
            if case let .welcome(w)? = frame.body {
                if !w.resumed {
                    // A new session: it has none of ours. Every request not answered goes again
                    // (the server answers those it has answered from its task store), then the
                    // rest of what was not acknowledged.
                    let requests = (try? outbox.pending()) ?? []
                    s.unsent = requests.flatMap(\.bodies) + (s.channel.restart() + s.unsent).filter { !Self.isRequest($0) }
                }
                s.token = w.resumeToken
                s.welcomed = true
                s.serverOffers = w.capabilities
                s.serverSoftware = w.software
                s.lastError = nil
                s.attempt = 0
                s.status = .up(session: w.sessionID, resumed: w.resumed)
                s.since = Date()
                writeStatus(&s, force: true)
                s.channel.grant(window: UInt64(w.window))
                return try s.channel.replay(after: w.received, now: now) + Self.drain(&s)
            }
            if case let .error(e)? = frame.body {
                s.lastError = "the server said \(e.code): \(e.message)"
                throw .refused(code: e.code, message: e.message)
            }
            var out: [LinkFrame] = []
            switch try s.channel.receive(frame, now: now) {
            case let .result(r)? where r.interjection:
                // Unasked: no request of ours to close, nothing to keep.
                answers.append(r)
            case let .result(r)? where r.final:
                // Recorded before it is handed on; a duplicate is dropped. If the outbox cannot
                // be written, the answer is handed on all the same (better said than lost).
                if (try? outbox.answered(r)) ?? true { answers.append(r) }
            case let .result(r)?:
                // A part ahead of the final answer, said as it comes; not kept: the final one
                // holds the whole answer, for a device that restarts before it is said.
                answers.append(r)
            case let .toolCall(call)?:
                calls.append(call)
            case let .audio(a)?:
                speech.append(a)
            case let .ping(ping)?:
                out.append(s.channel.control(.pong(Heartbeat.pong(ping))))
            case let .pong(pong)?:
                s.rttMs = Double(MonotonicClock.now() / 1000 &- pong.sentUs) / 1000
                writeStatus(&s, force: false)
            case let .goAway(g)?:
                // The server drains: answers may still come; when it closes, the client
                // reconnects (to it restarted, or to another instance) as after any break.
                s.lastError = "the server is draining (\(g.reason), \(g.timeLeftMs) ms left)"
                writeStatus(&s, force: true)
            default:
                break
            }
            out += Self.drain(&s)
            if out.isEmpty && s.channel.ackDue(now: now) { out.append(s.channel.control(.ackOnly(.init()))) }
            return out
        }
        for a in speech { onSpeech?(a) }  // before the RESULT that names it
        for a in answers { onAnswer(a) }
        for call in calls {
            if let onToolCall { onToolCall(call) } else {
                var r = Microturn_Link_V1_ToolResult()
                r.callID = call.callID
                r.error = "this device runs no tools"
                send(.toolResult(r))
            }
        }
        return out
    }
}

/// One connection of the client.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = LinkFrame
    typealias OutboundOut = LinkFrame

    private let client: LinkClient

    init(client: LinkClient) { self.client = client }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(client.connected(context.channel)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            for f in try client.received(unwrapInboundIn(data)) { context.write(wrapOutboundOut(f), promise: nil) }
            context.flush()
        } catch {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) { client.reconnect() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        switch idle {
        case .write: context.writeAndFlush(wrapOutboundOut(client.control(.ping(Heartbeat.ping()))), promise: nil)
        case .read, .all: context.close(promise: nil)  // nothing for three heartbeats: the link is dead
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        client.failed("the connection failed: \(error)")
        context.close(promise: nil)
    }
}


extension LinkClient.Options {
    /// The device's link as its config says: server, device id (the host name when unset), TLS
    /// credentials and durable outbox in `link.directory` (which is made if missing). A plaintext
    /// development run with no folder keeps its outbox in memory.
    public init(config: MicroturnConfig.Link) throws(LinkSetupError) {
        guard let (host, port) = Endpoint.parse(config.server) else {
            throw .invalid("link.server must be HOST:PORT, got '\(config.server)'")
        }
        if !config.directory.isEmpty { try DeviceProvisioning.makeDirectory(config.directory) }
        self.init(host: host, port: port,
                  deviceId: config.deviceId.isEmpty ? ProcessInfo.processInfo.hostName : config.deviceId,
                  credentials: config.plaintext ? nil : .device(in: config.directory),
                  outboxPath: config.directory.isEmpty ? nil : config.directory + "/outbox.sqlite")
        statusPath = config.directory.isEmpty ? nil : LinkStatus.path(in: config.directory)
    }
}
