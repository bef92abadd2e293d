import Foundation
import Logging
import MicroturnCore
import MicroturnLink
import NIOCore
import NIOPosix
import NIOSSL

/// The server's front door: accepts link connections, opens or resumes their sessions and answers
/// their tasks through `worker`. Devices come in over TLS 1.3 with their own certificates; plaintext
/// is for development on loopback only, and refused anywhere else.
public final class LinkServer: Sendable {
    public enum Security: Sendable {
        /// Development only: no TLS, and only on loopback.
        case plaintext
        /// TLS 1.3; devices admitted by their certificates.
        case tls(NIOSSLContext, DeviceAdmission)

        /// The server's TLS from the fleet CA folder (`microturn-server ca init`).
        public static func tls(caDirectory: String) throws(LinkSetupError) -> Security {
            .tls(try LinkTLS.serverContext(.server(in: caDirectory)), try DeviceAdmission(caDirectory: caDirectory))
        }
    }

    /// Runs one task (off the event loop, on the server's worker threads) and gives its answer;
    /// `TaskReport` tells the device how it goes, and says when the answer is no longer wanted.
    public typealias Worker = @Sendable (ServerSessions.Job, TaskReport) -> Microturn_Link_V1_Result
    /// Sees each EVENT a device sends (on the worker threads: it may write to a store).
    public typealias EventObserver = @Sendable (_ device: DeviceContact, _ event: Microturn_Link_V1_Event) -> Void

    public let sessions: ServerSessions
    public let metrics: ServerMetrics
    let group: MultiThreadedEventLoopGroup
    private let workers: NIOThreadPool
    private let channel: Channel
    /// The port it listens on (the one asked for, or the one the system gave for 0).
    public let port: Int

    public init(host: String = "127.0.0.1", port: Int = 7741, threads: Int = 1, security: Security,
                store: TaskStore? = nil, metrics: ServerMetrics = ServerMetrics(), deviceGoneAfter: Duration = .seconds(30),
                log: Logger = Logger(label: "microturn-server"), events: EventObserver? = nil, offers: [String] = [],
                worker: @escaping Worker) throws {
        if case .plaintext = security, !Endpoint.isLoopback(host) {
            throw LinkServerError.notLoopback(host: host)
        }
        let sessions = ServerSessions(deviceGoneAfter: deviceGoneAfter, offers: offers)
        self.sessions = sessions
        let store = try store ?? SQLiteTaskStore(path: nil)
        self.metrics = metrics
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        // Tasks block (transcription, a model): threads of their own, never the event loop's, nor
        // Dispatch's shared ones (which a busy process can use up).
        let workers = NIOThreadPool(numberOfThreads: max(2, threads))
        workers.start()
        let context = ConnectionContext(sessions: sessions, store: store, metrics: metrics, log: log, worker: worker, events: events, workers: workers)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(ChannelOptions.backlog, value: 1024)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        var admission: DeviceAdmission?
                        if case let .tls(tls, admits) = security {
                            // Every certificate completes the handshake (which proves the device
                            // holds its key); the connection handler then admits or refuses it
                            // and says why, which a TLS alert could not.
                            try child.pipeline.syncOperations.addHandler(
                                NIOSSLServerHandler(context: tls) { _, promise in promise.succeed(.certificateVerified) })
                            admission = admits
                        }
                        try child.pipeline.syncOperations.addHandlers([
                            Heartbeat.handler(), FrameEncodingHandler(), FrameDecodingHandler(),
                            ServerConnectionHandler(context, admission: admission),
                        ])
                    }
                }
                .bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            try? workers.syncShutdownGracefully()
            throw LinkServerError.cannotListen(host: host, port: port, reason: "\(error)")
        }
        self.group = group
        self.workers = workers
        self.port = channel.localAddress?.port ?? port
        let every = TimeAmount.milliseconds(Int64(min(5, deviceGoneAfter.seconds / 2) * 1000))
        group.next().scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
            for device in sessions.sweep() {
                log.notice("the device is gone; its running tasks stop", metadata: ["device": "\(device)"])
            }
        }
    }

    /// Drains for a restart or a stop (SIGTERM): takes no new connections, tells every device
    /// GOAWAY with the time left, lets running tasks finish and send their answers for up to
    /// `seconds`, then closes. A task that did not finish is not lost: the device keeps every
    /// request until it is answered and asks again on its next session (here or elsewhere).
    public func drain(seconds: Double) async {
        try? await channel.close()
        var goAway = Microturn_Link_V1_GoAway()
        goAway.timeLeftMs = UInt32(max(0, seconds) * 1000)
        goAway.reason = "the server is restarting or stopping"
        for connection in sessions.connections {
            var f = LinkFrame()
            f.body = .goAway(goAway)
            connection.writeAndFlush(f, promise: nil)
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(max(0, seconds) * 1000))
        while sessions.running > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        // A moment for the last answers' frames to reach the wire.
        try? await Task.sleep(for: .milliseconds(100))
        for connection in sessions.connections { try? await connection.close() }
    }

    public func shutdown() {
        try? channel.close().wait()
        for connection in sessions.connections { try? connection.close().wait() }
        try? group.syncShutdownGracefully()
        try? workers.syncShutdownGracefully()
    }
}

/// What every connection handler of one server shares.
struct ConnectionContext: Sendable {
    let sessions: ServerSessions
    let store: TaskStore
    let metrics: ServerMetrics
    let log: Logger
    let worker: LinkServer.Worker
    let events: LinkServer.EventObserver?
    let workers: NIOThreadPool
}

public enum LinkServerError: Error, CustomStringConvertible {
    case notLoopback(host: String)
    case cannotListen(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case let .notLoopback(host):
            "plaintext links are for development on loopback only, not \(host); listen on 127.0.0.1"
        case let .cannotListen(host, port, reason):
            "cannot listen on \(host):\(port) (\(reason)); is another server there? choose another port"
        }
    }
}

/// One connection: HELLO first (from an admitted device), then the session's frames.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = LinkFrame
    typealias OutboundOut = LinkFrame

    private let shared: ConnectionContext
    private let admission: DeviceAdmission?
    private var token: Data?

    init(_ shared: ConnectionContext, admission: DeviceAdmission?) {
        self.shared = shared
        self.admission = admission
    }

    func channelActive(context: ChannelHandlerContext) {
        shared.metrics.connections.increment()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        shared.metrics.connections.decrement()
        if let token { shared.sessions.disconnected(token: token, connection: context.channel) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let now = MonotonicClock.now() / 1000
        shared.metrics.framesReceived.increment()
        do throws(LinkError) {
            if let token {
                let (frames, jobs, events) = try shared.sessions.receive(frame, token: token, now: now)
                for f in frames { context.write(wrapOutboundOut(f), promise: nil) }
                for job in jobs { start(job, on: context.eventLoop) }
                if let observe = shared.events {
                    for (device, capabilities, event) in events {
                        let contact = DeviceContact(id: device, capabilities: capabilities) { [sessions = shared.sessions] in sessions.deliver($0, to: device) }
                        shared.workers.submit { _ in observe(contact, event) }
                    }
                }
            } else {
                try hello(frame, context: context, now: now)
            }
            context.flush()
        } catch {
            shared.metrics.error(error.code)
            shared.log.notice("connection closed with an error", metadata: ["code": "\(error.code)", "reason": "\(error)"])
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(error.frame)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func hello(_ frame: LinkFrame, context: ChannelHandlerContext, now: UInt64) throws(LinkError) {
        guard case let .hello(hello)? = frame.body else {
            throw .frameInvalid(reason: "the first frame must be HELLO")
        }
        if let admission {
            let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
            switch admission.verdict(certificate.map { [$0] } ?? []) {
            case let .refused(code, message):
                throw .refused(code: code, message: message)
            case let .admitted(deviceId, _) where deviceId != hello.deviceID:
                throw .refused(code: .authUnknownDevice,
                               message: "the device says it is '\(hello.deviceID)' but its certificate is for '\(deviceId)'; set link.device_id to '\(deviceId)'")
            case .admitted:
                break
            }
        }
        let (token, welcome, replay) = try shared.sessions.open(hello, on: context.channel, now: now)
        self.token = token
        (welcome.resumed ? shared.metrics.sessionsResumed : shared.metrics.sessionsOpened).increment()
        var w = LinkFrame()
        w.ack = welcome.received
        w.body = .welcome(welcome)
        context.write(wrapOutboundOut(w), promise: nil)
        for f in replay { context.write(wrapOutboundOut(f), promise: nil) }
    }

    /// A job runs on the worker threads: its answer from the task store if the task was answered
    /// before, else from the worker, stored before it is sent; then it goes to its device's
    /// session wherever that is connected by then.
    private func start(_ job: ServerSessions.Job, on loop: EventLoop) {
        let shared = self.shared
        shared.workers.runIfActive(eventLoop: loop) { () -> Microturn_Link_V1_Result? in
            let fields: Logger.Metadata = ["device": "\(job.deviceId)", "task": "\(job.task.taskID)"]
            do {
                if let stored = try shared.store.answer(device: job.deviceId, task: job.task.taskID) {
                    shared.log.info("task answered again from the store", metadata: fields)
                    return stored
                }
            } catch {
                shared.log.error("the task store cannot be read; running the task", metadata: fields.merging(["error": "\(error)"]) { $1 })
            }
            shared.metrics.tasksStarted.increment()
            let started = ContinuousClock.now
            var answer = shared.worker(job, TaskReport(job: job, sessions: shared.sessions))
            // Stopped because the device went away: nothing stored, so if it comes back and asks
            // again, the task runs afresh.
            if job.cancellation.isCancelled && shared.sessions.isGone(job.deviceId) {
                shared.log.info("task stopped: the device is gone", metadata: fields)
                return nil
            }
            shared.metrics.taskDuration.record(ContinuousClock.now - started)
            shared.metrics.tasksAnswered.increment()
            do { answer = try shared.store.save(device: job.deviceId, answer: answer) } catch {
                // Still delivered; only a repeat of the task after a restart would run it again.
                shared.log.error("cannot store the answer", metadata: fields.merging(["error": "\(error)"]) { $1 })
            }
            shared.log.info("task answered", metadata: fields.merging(["seconds": "\(started.duration(to: .now))"]) { $1 })
            return answer
        }.whenComplete { result in
            switch result {
            case let .success(answer?): shared.sessions.finish(job, answer: answer)
            // The server stops, or the device is gone: the device keeps the request and asks again.
            case .success(nil), .failure: shared.sessions.abandon(job)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        switch idle {
        case .write:
            if let token, let ping = shared.sessions.control(.ping(Heartbeat.ping()), token: token) {
                context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
            }
        case .read, .all:
            context.close(promise: nil)  // nothing for three heartbeats: the device is gone (it will resume)
        }
    }
}
