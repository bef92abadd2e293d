import Foundation
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

    /// Runs one task (off the event loop, on the server's worker queue) and gives its answer.
    public typealias Worker = @Sendable (ServerSessions.Job) -> Microturn_Link_V1_Result

    public let sessions = ServerSessions()
    private let group: MultiThreadedEventLoopGroup
    private let workers: NIOThreadPool
    private let channel: Channel
    /// The port it listens on (the one asked for, or the one the system gave for 0).
    public let port: Int

    public init(host: String = "127.0.0.1", port: Int = 7741, threads: Int = 1, security: Security,
                worker: @escaping Worker) throws {
        if case .plaintext = security, !["127.0.0.1", "::1", "localhost"].contains(host) {
            throw LinkServerError.notLoopback(host: host)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let sessions = self.sessions
        // Tasks block (transcription, a model): threads of their own, never the event loop's, nor
        // Dispatch's shared ones (which a busy process can use up).
        let workers = NIOThreadPool(numberOfThreads: max(2, threads))
        workers.start()
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        var admission: DeviceAdmission?
                        if case let .tls(context, admits) = security {
                            // Every certificate completes the handshake (which proves the device
                            // holds its key); the connection handler then admits or refuses it
                            // and says why, which a TLS alert could not.
                            try child.pipeline.syncOperations.addHandler(
                                NIOSSLServerHandler(context: context) { _, promise in promise.succeed(.certificateVerified) })
                            admission = admits
                        }
                        try child.pipeline.syncOperations.addHandlers([
                            Heartbeat.handler(), FrameEncodingHandler(), FrameDecodingHandler(),
                            ServerConnectionHandler(sessions: sessions, admission: admission, worker: worker, workers: workers),
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
    }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
        try? workers.syncShutdownGracefully()
    }
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

/// One connection: HELLO first, then the session's frames.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = LinkFrame
    typealias OutboundOut = LinkFrame

    private let sessions: ServerSessions
    private let admission: DeviceAdmission?
    private let worker: LinkServer.Worker
    private let workers: NIOThreadPool
    private var token: Data?

    init(sessions: ServerSessions, admission: DeviceAdmission?, worker: @escaping LinkServer.Worker, workers: NIOThreadPool) {
        self.sessions = sessions
        self.admission = admission
        self.worker = worker
        self.workers = workers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let now = MonotonicClock.now() / 1000
        do throws(LinkError) {
            if let token {
                let (frames, jobs) = try sessions.receive(frame, token: token, now: now)
                for f in frames { context.write(wrapOutboundOut(f), promise: nil) }
                // Tasks run off the event loop; their answers go out on this connection if it is
                // still there, and are replayed on the device's next resume in any case.
                let (channel, sessions, worker) = (context.channel, sessions, worker)
                for job in jobs {
                    workers.runIfActive(eventLoop: channel.eventLoop) { worker(job) }.whenSuccess { result in
                        // Back on the event loop: numbered and written in one place, in order.
                        for f in sessions.answer(result, token: token, now: MonotonicClock.now() / 1000) { channel.write(f, promise: nil) }
                        channel.flush()
                    }
                }
            } else {
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
                let (token, welcome, replay) = try sessions.open(hello, now: now)
                self.token = token
                var w = LinkFrame()
                w.ack = welcome.received
                w.body = .welcome(welcome)
                context.write(wrapOutboundOut(w), promise: nil)
                for f in replay { context.write(wrapOutboundOut(f), promise: nil) }
            }
            context.flush()
        } catch {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(error.frame)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        switch idle {
        case .write:
            if let token, let ping = sessions.control(.ping(Heartbeat.ping()), token: token) {
                context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
            }
        case .read, .all:
            context.close(promise: nil)  // nothing for three heartbeats: the device is gone (it will resume)
        }
    }
}

