import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A misbehaving OpenAI-compatible server on loopback, for what a real one does only on a bad
/// day: each request gets the next scripted answer (garbage, an error status, a stream that
/// stalls). Requests' bodies are kept for the test to read.
final class ScriptedHTTPServer: Sendable {
    enum Answer: Sendable {
        /// 200 with an event stream of these events' data, then the end of the response.
        case events([String])
        /// An error status and body.
        case status(Int, String)
        /// 200 and the stream's head, then nothing, ever.
        case stall
    }

    private let channel: Channel
    private let script: Mutex<[Answer]>
    let requests = Mutex<[String]>([])
    var port: Int { channel.localAddress!.port! }
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    init(_ answers: [Answer]) throws {
        script = Mutex(answers)
        let box = Box()
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(Handler(server: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        box.server.withLock { $0 = self }
    }

    func stop() { try? channel.close().wait() }

    fileprivate func next(request: String) -> Answer {
        requests.withLock { $0.append(request) }
        return script.withLock { $0.isEmpty ? .status(500, "the script is over") : $0.removeFirst() }
    }

    /// The server, reachable from handlers made before `init` finished.
    fileprivate final class Box: Sendable {
        let server = Mutex<ScriptedHTTPServer?>(nil)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: Box
        var body = ""

        init(server: Box) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: body = ""
            case var .body(buffer): body += buffer.readString(length: buffer.readableBytes) ?? ""
            case .end:
                guard let answer = server.server.withLock({ $0 })?.next(request: body) else { return }
                var headers = HTTPHeaders()
                switch answer {
                case let .events(events):
                    headers.add(name: "content-type", value: "text/event-stream")
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                    let text = events.map { "data: \($0)\n\n" }.joined()
                    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                case let .status(code, text):
                    headers.add(name: "content-type", value: "application/json")
                    headers.add(name: "content-length", value: "\(text.utf8.count)")
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers))), promise: nil)
                    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                case .stall:
                    headers.add(name: "content-type", value: "text/event-stream")
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                }
            }
        }
    }
}
