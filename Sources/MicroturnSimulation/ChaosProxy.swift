import MicroturnCore
import Foundation
import MicroturnAudio
import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on loopback that breaks what passes through it (the link's fault suite and
/// `bench link`). Decided by a seeded generator per chunk of bytes, it cuts the connection (both
/// sides closed at once), or stalls it (the connection stays open and every byte from then on is
/// dropped: a half-open link only a heartbeat notices). An outage cuts every connection and
/// refuses new ones until it ends, as an unreachable network does. TLS passes through untouched.
public final class ChaosProxy: Sendable {
    public struct Odds: Sendable {
        public var cut: Double
        public var stall: Double

        public init(cut: Double, stall: Double) {
            self.cut = cut
            self.stall = stall
        }

        public static let none = Odds(cut: 0, stall: 0)
    }

    /// Faults made so far, and whether to make more.
    public final class Stats: Sendable {
        public let cuts = Atomic<Int>(0)
        public let stalls = Atomic<Int>(0)
        /// Random faults on (cuts and stalls).
        public let chaos = Atomic<Bool>(true)
        let outage = Atomic<Bool>(false)
        let target: Atomic<Int>
        let rng: Mutex<SplitMix64>
        /// Proxied connections open now, to cut them all at an outage.
        let open = Mutex<[ObjectIdentifier: Channel]>([:])
        init(seed: UInt64, target: Int) {
            rng = Mutex(SplitMix64(seed: seed))
            self.target = Atomic(target)
        }
    }

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Channel
    public let port: Int
    public let stats: Stats

    public init(target: Int, seed: UInt64, odds: Odds) throws {
        let stats = Stats(seed: seed, target: target)
        self.stats = stats
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard !stats.outage.load(ordering: .relaxed) else { return inbound.close() }
                stats.open.withLock { $0[ObjectIdentifier(inbound)] = inbound }
                inbound.closeFuture.whenComplete { _ in _ = stats.open.withLock { $0.removeValue(forKey: ObjectIdentifier(inbound)) } }
                return ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: stats.target.load(ordering: .relaxed))
                    .flatMap { outbound in
                        let link = Link(stats: stats, odds: odds)
                        let a = Pipe(link: link, partner: outbound), b = Pipe(link: link, partner: inbound)
                        link.ends = [inbound, outbound]
                        return inbound.pipeline.addHandler(a).flatMap { outbound.pipeline.addHandler(b) }.map {
                            inbound.read()
                        }
                    }
                    .flatMapErrorThrowing { error in
                        inbound.close(promise: nil)
                        throw error
                    }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress!.port!
    }

    /// New connections go to `port` from now on (a load balancer that moved to another instance).
    public func retarget(_ port: Int) { stats.target.store(port, ordering: .relaxed) }

    /// The network goes away (every connection cut, new ones refused) or comes back.
    public func outage(_ on: Bool) {
        stats.outage.store(on, ordering: .relaxed)
        if on { for c in stats.open.withLock({ Array($0.values) }) { c.close(promise: nil) } }
    }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// One proxied connection: its two ends and whether it is stalled. Touched only on the
    /// proxy's one event loop.
    final class Link: @unchecked Sendable {
        let stats: Stats
        let odds: Odds
        var ends: [Channel] = []
        var stalled = false

        init(stats: Stats, odds: Odds) {
            self.stats = stats
            self.odds = odds
        }

        /// What to do with the next chunk.
        func decide() -> (cut: Bool, stall: Bool) {
            guard stats.chaos.load(ordering: .relaxed), !stalled else { return (false, false) }
            let roll = stats.rng.withLock { Double.random(in: 0..<1, using: &$0) }
            if roll < odds.cut { return (true, false) }
            if roll < odds.cut + odds.stall { return (false, true) }
            return (false, false)
        }
    }

    /// Forwards what one end reads to the other, unless the link decides otherwise.
    final class Pipe: ChannelDuplexHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let link: Link
        let partner: Channel

        init(link: Link, partner: Channel) {
            self.link = link
            self.partner = partner
        }

        func channelActive(context: ChannelHandlerContext) { context.read() }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let (cut, stall) = link.decide()
            if cut {
                link.stats.cuts.add(1, ordering: .relaxed)
                for end in link.ends { end.close(promise: nil) }
                return
            }
            if stall {
                link.stats.stalls.add(1, ordering: .relaxed)
                link.stalled = true
            }
            if !link.stalled { partner.writeAndFlush(data, promise: nil) }
        }

        func channelReadComplete(context: ChannelHandlerContext) { context.read() }

        func channelInactive(context: ChannelHandlerContext) { partner.close(promise: nil) }

        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    }
}
