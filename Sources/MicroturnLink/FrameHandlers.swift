import MicroturnCore
import NIOCore

/// Bytes to frames on a NIO channel, through `FrameCodec.Decoder`: a peer's invalid frame closes the
/// connection after an ERROR that says why (PROTOCOL.md, "Framing").
public final class FrameDecodingHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = LinkFrame
    public typealias OutboundOut = LinkFrame

    private var decoder = FrameCodec.Decoder()

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let bytes = buffer.readBytes(length: buffer.readableBytes) { decoder.feed(bytes) }
        do {
            while let frame = try decoder.next() { context.fireChannelRead(wrapInboundOut(frame)) }
        } catch {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(error.frame)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Frames to bytes on a NIO channel.
public final class FrameEncodingHandler: ChannelOutboundHandler {
    public typealias OutboundIn = LinkFrame
    public typealias OutboundOut = ByteBuffer

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        do {
            let bytes = try FrameCodec.encode(unwrapOutboundIn(data))
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
        } catch {
            promise?.fail(error)
        }
    }
}

/// Heartbeat (PROTOCOL.md, "Liveness"): a side that has written nothing for `heartbeat` sends a
/// PING; one that has read nothing for three of them closes the connection as dead.
public enum Heartbeat {
    public static let interval = TimeAmount.milliseconds(1000)

    /// The idle timer for the head of a link pipeline.
    public static func handler() -> IdleStateHandler {
        IdleStateHandler(readTimeout: .nanoseconds(3 * interval.nanoseconds), writeTimeout: interval)
    }

    /// The PING to send when this side has been quiet.
    public static func ping() -> Microturn_Link_V1_Ping {
        var ping = Microturn_Link_V1_Ping()
        ping.nonce = UInt64.random(in: 0...UInt64.max)
        ping.sentUs = MonotonicClock.now() / 1000
        return ping
    }

    /// The answer to a PING: its nonce and time echoed, so the other side measures the round trip.
    public static func pong(_ ping: Microturn_Link_V1_Ping) -> Microturn_Link_V1_Pong {
        var pong = Microturn_Link_V1_Pong()
        pong.nonce = ping.nonce
        pong.sentUs = ping.sentUs
        return pong
    }
}
