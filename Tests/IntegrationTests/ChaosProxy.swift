import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on loopback that breaks what passes through it, decided by a seeded generator per
/// chunk of bytes: it cuts the connection (both sides closed at once), or stalls it (the
/// connection stays open and every byte from then on is dropped: a half-open link only a
/// heartbeat notices). TLS passes through untouched, end to end.
final class ChaosProxy: Sendable {
    struct Odds: Sendable {
        var cut: Double
        var stall: Double
    }

    /// Faults made so far, and whether to make more.
    final class Stats: Sendable {
        let cuts = Atomic<Int>(0)
        let stalls = Atomic<Int>(0)
        let chaos = Atomic<Bool>(true)
        let rng: Mutex<SplitMix64>
        init(seed: UInt64) { rng = Mutex(SplitMix64(seed: seed)) }
    }

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Channel
    let port: Int
    let stats: Stats

    init(target: Int, seed: UInt64, odds: Odds) throws {
        let stats = Stats(seed: seed)
        self.stats = stats
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: target)
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

    func stop() {
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
            let roll = stats.rng.withLock { $0.nextDouble() }
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

/// A small seeded generator (SplitMix64), so a fault plan is the same on every run.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
