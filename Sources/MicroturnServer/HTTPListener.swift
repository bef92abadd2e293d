import NIOCore
import NIOHTTP1
import NIOPosix

/// The server's small HTTP endpoints (metrics, audio): a listening socket whose connections each
/// get an HTTP/1.1 pipeline and a handler of their own.
enum HTTPListener {
    static func bind(host: String, port: Int, group: EventLoopGroup,
                     handler: @escaping @Sendable () -> any ChannelHandler) throws -> Channel {
        do {
            return try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.configureHTTPServerPipeline()
                        try child.pipeline.syncOperations.addHandler(handler())
                    }
                }
                .bind(host: host, port: port).wait()
        } catch {
            throw LinkServerError.cannotListen(host: host, port: port, reason: "\(error)")
        }
    }
}
