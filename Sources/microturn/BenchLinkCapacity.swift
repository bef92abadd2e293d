import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnLink
import NIOCore
import NIOPosix
import Synchronization

/// `microturn bench link capacity`: many simulated devices streaming speech into one server.
struct BenchLinkCapacity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capacity",
        abstract: "Simulated devices streaming Opus into one microturn-server: frame latency and CPU per device.",
        discussion: """
        A real microturn-server process on one event-loop thread (plaintext on loopback: framing, sessions,
        reliability and acks are measured; TLS's record cost is not) takes --devices simulated devices, made on
        one thread of this process. Each says HELLO, then sends an AUDIO frame of three real 20 ms Opus
        packets every 60 ms (as a device streams a request) and a PING every second. Measured over --seconds:
        PING-to-PONG round trips (p50, p99: an upper bound on the server's frame handling time, since they
        include the load generator's own queueing), the server's CPU time per device (from /proc), and the
        devices one server core would carry at that cost.
        """)

    @Option(help: "Simulated devices.") var devices = 1000
    @Option(help: "Seconds to measure, after every device is connected.") var seconds = 10.0
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        try FlagChecks.integer(devices, "--devices", 1...20_000)
        try FlagChecks.seconds(seconds, "--seconds", minimum: 1)
    }

    func run() throws {
        try withExitCodes {
            let packets = try Self.packets()
            let server = try BenchServer(tls: false, devices: [])
            defer { server.stop() }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { try? group.syncShutdownGracefully() }
            let stats = LoadStats()
            for k in 0..<devices {
                _ = try ClientBootstrap(group: group)
                    .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandlers([
                                FrameEncodingHandler(), FrameDecodingHandler(), SimulatedDevice(id: "sim-\(k)", packets: packets, stats: stats),
                            ])
                        }
                    }
                    .connect(host: "127.0.0.1", port: server.port).wait()
            }
            guard BenchLinkResume.wait(60, until: { stats.welcomed.load(ordering: .relaxed) == devices }) else {
                throw UsageError(message: "only \(stats.welcomed.load(ordering: .relaxed)) of \(devices) devices were welcomed in 60 s")
            }
            Thread.sleep(forTimeInterval: 1)  // every device's timers running
            stats.measuring.store(true, ordering: .relaxed)
            let cpu0 = server.process.cpuSeconds, frames0 = stats.frames.load(ordering: .relaxed), t0 = MonotonicClock.now()
            Thread.sleep(forTimeInterval: seconds)
            let cpu1 = server.process.cpuSeconds, frames1 = stats.frames.load(ordering: .relaxed), t1 = MonotonicClock.now()
            stats.measuring.store(false, ordering: .relaxed)
            let wall = Double(t1 - t0) / 1e9
            let rtts = stats.rtts.withLock { $0 }.sorted()
            guard !rtts.isEmpty else { throw UsageError(message: "no PONG came back while measuring") }
            func pct(_ p: Double) -> Double { rtts[min(rtts.count - 1, Int(Double(rtts.count) * p))] }
            let cpuShare = (cpu1 - cpu0) / wall
            let perDeviceMs = cpuShare / Double(devices) * 1000
            let perCore = cpuShare > 0 ? Double(devices) / cpuShare : .infinity
            let fps = Double(frames1 - frames0) / wall
            if json {
                print("{\"devices\":\(devices),\"seconds\":\(Event.format(wall)),\"frames_per_s\":\(Event.format(fps)),"
                      + "\"rtt_ms_p50\":\(Event.format(pct(0.5))),\"rtt_ms_p99\":\(Event.format(pct(0.99))),\"rtt_ms_max\":\(Event.format(rtts.last!)),"
                      + "\"pongs\":\(rtts.count),\"server_cpu_share\":\(Event.format(cpuShare)),\"cpu_ms_per_device_s\":\(Event.format(perDeviceMs)),"
                      + "\"devices_per_core\":\(Event.format(perCore)),\"window_stalls\":\(stats.stalls.load(ordering: .relaxed))}")
                return
            }
            print(String(format: "%d devices for %.1f s: %.0f frames/s into the server", devices, wall, fps))
            print(String(format: "PING round trip: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d)", pct(0.5), pct(0.99), rtts.last!, rtts.count))
            print(String(format: "server CPU: %.1f %% of a core, %.3f ms per device-second: %.0f devices per core", cpuShare * 100, perDeviceMs, perCore))
            if stats.stalls.load(ordering: .relaxed) > 0 { print("frames held back by a full window: \(stats.stalls.load(ordering: .relaxed))") }
        }
    }

    /// Real Opus packets of speech to loop through.
    static func packets() throws -> [Data] {
        let encoder = try Opus.Encoder()
        let speech = try SpeechSynthesizer(voice: .init()).synthesize("Could you remind me to stretch after lunch today, please?")
        let usable = speech.count / Opus.frameSamples * Opus.frameSamples
        return try stride(from: 0, to: usable, by: Opus.frameSamples).map { Data(try encoder.encode(speech[$0..<$0 + Opus.frameSamples])) }
    }
}

/// What the simulated devices measured (touched from the load generator's one thread, and read
/// by the bench).
final class LoadStats: Sendable {
    let welcomed = Atomic<Int>(0)
    let frames = Atomic<Int>(0)
    let stalls = Atomic<Int>(0)
    let measuring = Atomic<Bool>(false)
    let rtts = Mutex<[Double]>([])
}

/// One simulated device on a raw link connection: HELLO, then an AUDIO frame every 60 ms and a
/// PING every second, acknowledging what the server sends through the real reliability layer.
final class SimulatedDevice: ChannelInboundHandler {
    typealias InboundIn = LinkFrame
    typealias OutboundOut = LinkFrame

    private let id: String
    private let packets: [Data]
    private let stats: LoadStats
    private var channel = ReliableChannel()
    private var next = 0
    private var stream = 0
    private var timers: [RepeatedTask] = []

    init(id: String, packets: [Data], stats: LoadStats) {
        self.id = id
        self.packets = packets
        self.stats = stats
    }

    func channelActive(context: ChannelHandlerContext) {
        var hello = Microturn_Link_V1_Hello()
        hello.protocolVersion = 1
        hello.deviceID = id
        hello.window = 64
        var f = LinkFrame()
        f.body = .hello(hello)
        context.writeAndFlush(wrapOutboundOut(f), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case let .welcome(w)? = frame.body {
            channel.grant(window: UInt64(w.window))
            stats.welcomed.add(1, ordering: .relaxed)
            start(context)
            return
        }
        let now = MonotonicClock.now() / 1000
        let body: LinkBody?
        do { body = try channel.receive(frame, now: now) } catch { return context.close(promise: nil) }
        if case let .pong(pong)? = body, stats.measuring.load(ordering: .relaxed) {
            let ms = Double(now &- pong.sentUs) / 1000
            stats.rtts.withLock { $0.append(ms) }
        }
    }

    /// The device's timers, spread over the period so the devices do not send in step.
    private func start(_ context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let channelRef = context.channel
        let audioOffset = TimeAmount.microseconds(Int64.random(in: 0..<60_000))
        let pingOffset = TimeAmount.microseconds(Int64.random(in: 0..<1_000_000))
        let handler = NIOLoopBound(self, eventLoop: loop)
        timers.append(loop.scheduleRepeatedTask(initialDelay: audioOffset, delay: .milliseconds(60)) { _ in
            handler.value.sendAudio(channelRef)
        })
        timers.append(loop.scheduleRepeatedTask(initialDelay: pingOffset, delay: .seconds(1)) { _ in
            handler.value.sendPing(channelRef)
        })
    }

    private func sendAudio(_ out: Channel) {
        var a = Microturn_Link_V1_Audio()
        a.streamID = "\(id)-\(stream)"
        a.firstPacket = UInt32(next % 50)
        for _ in 0..<3 {
            a.opus.append(packets[next % packets.count])
            next += 1
        }
        if next % 50 < 3 { stream += 1 }  // a new utterance every 50 packets
        guard let f = channel.send(.audio(a), now: MonotonicClock.now() / 1000) else {
            stats.stalls.add(1, ordering: .relaxed)
            return
        }
        stats.frames.add(1, ordering: .relaxed)
        out.writeAndFlush(f, promise: nil)
    }

    private func sendPing(_ out: Channel) {
        stats.frames.add(1, ordering: .relaxed)
        out.writeAndFlush(channel.control(.ping(Heartbeat.ping())), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for t in timers { t.cancel() }
        timers = []
    }
}
