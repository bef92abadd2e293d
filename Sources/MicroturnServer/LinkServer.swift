import Foundation
import MicroturnCore
import MicroturnLink
import NIOCore
import NIOPosix

/// The server's front door: accepts link connections, opens or resumes their sessions and answers
/// their tasks through `worker`. Plaintext is for development on loopback only (TLS comes with the
/// fleet CA); anything else is refused at start.
public final class LinkServer: Sendable {
    public typealias Worker = @Sendable (Microturn_Link_V1_Task) -> Microturn_Link_V1_Result

    public let sessions = ServerSessions()
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    /// The port it listens on (the one asked for, or the one the system gave for 0).
    public let port: Int

    public init(host: String = "127.0.0.1", port: Int = 7741, threads: Int = 1, worker: @escaping Worker) throws {
        guard ["127.0.0.1", "::1", "localhost"].contains(host) else {
            throw LinkServerError.notLoopback(host: host)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let sessions = self.sessions
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandlers([
                            Heartbeat.handler(), FrameEncodingHandler(), FrameDecodingHandler(),
                            ServerConnectionHandler(sessions: sessions, worker: worker),
                        ])
                    }
                }
                .bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw LinkServerError.cannotListen(host: host, port: port, reason: "\(error)")
        }
        self.group = group
        self.port = channel.localAddress?.port ?? port
    }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
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
    private let worker: LinkServer.Worker
    private var token: Data?

    init(sessions: ServerSessions, worker: @escaping LinkServer.Worker) {
        self.sessions = sessions
        self.worker = worker
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let now = MonotonicClock.now() / 1000
        do throws(LinkError) {
            if let token {
                for f in try sessions.receive(frame, token: token, now: now, worker: worker) { context.write(wrapOutboundOut(f), promise: nil) }
            } else {
                guard case let .hello(hello)? = frame.body else {
                    throw .frameInvalid(reason: "the first frame must be HELLO")
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
            var e = Microturn_Link_V1_Error()
            e.code = error.code
            e.message = error.description
            e.fatal = true
            var f = LinkFrame()
            f.body = .error(e)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(f)).whenComplete { _ in channel.close(promise: nil) }
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
