import ArgumentParser
import Foundation
import MicroturnCore
import MicroturnLink
import MicroturnSimulation

/// `microturn bench link resume`: time from the network coming back to the session resumed.
struct BenchLinkResume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Time from the network coming back to the link's session resumed, beside plain exponential backoff.",
        discussion: """
        A real microturn-server (TLS, a fleet CA and devices made by its own commands) behind a proxy on
        loopback that takes the network away (every connection cut, new ones refused) for --outage seconds
        and gives it back. Two device clients go through it side by side:
          microturn  the link client as it ships: attempts at most 0.75 s apart (±20 %) for the first minute
                     of an outage, then doubling up to 30 s
          backoff    the same client with plain exponential backoff (250 ms doubling to 30 s, ±20 %), as
                     most reconnecting clients do
        Each must resume its session (not open a new one). Ratios are backoff / microturn.
        """)

    @Option(name: .customLong("outage"), help: "Outage lengths in seconds (repeat the flag).") var outages: [Double] = [1, 5, 20]
    @Option(help: "Outages of each length.") var repeats = 3
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        for o in outages { try FlagChecks.seconds(o, "--outage", minimum: 0) }
        try FlagChecks.integer(repeats, "--repeats", 1...100)
    }

    func run() throws {
        try withExitCodes {
            let server = try BenchServer(tls: true, devices: ["bench-microturn", "bench-backoff"])
            defer { server.stop() }
            let proxy = try ChaosProxy(target: server.port, seed: 1, odds: .none)
            defer { proxy.stop() }
            func client(_ id: String, fast: Bool) throws -> LinkClient {
                var o = LinkClient.Options(host: "localhost", port: proxy.port, deviceId: id, credentials: .device(in: server.deviceDirectory(id)))
                if !fast { o.fastPhaseSeconds = 0 }
                return try LinkClient(options: o) { _ in }
            }
            let clients = [("microturn", try client("bench-microturn", fast: true)), ("backoff", try client("bench-backoff", fast: false))]
            for (_, c) in clients { c.start() }
            defer { for (_, c) in clients { c.stop() } }
            guard Self.wait(60, until: { clients.allSatisfy { $0.1.isUp } }) else {
                throw UsageError(message: "the clients did not come up: \(clients.compactMap { $0.1.lastError })")
            }
            var results: [(outage: Double, ours: [Double], peer: [Double])] = []
            for outage in outages {
                var times: [[Double]] = [[], []]
                for _ in 0..<repeats {
                    proxy.outage(true)
                    _ = Self.wait(10) { clients.allSatisfy { !$0.1.isUp } }
                    Thread.sleep(forTimeInterval: outage)
                    let back = MonotonicClock.now()
                    proxy.outage(false)
                    var resumedAt: [UInt64?] = [nil, nil]
                    _ = Self.wait(120) {
                        for (k, c) in clients.enumerated() where resumedAt[k] == nil {
                            if case .up(_, true) = c.1.status { resumedAt[k] = MonotonicClock.now() }
                        }
                        return resumedAt.allSatisfy { $0 != nil }
                    }
                    for k in 0..<2 { times[k].append(resumedAt[k].map { Double($0 - back) / 1e9 } ?? .infinity) }
                }
                results.append((outage, times[0], times[1]))
            }
            report(results)
        }
    }

    func report(_ results: [(outage: Double, ours: [Double], peer: [Double])]) {
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        if json {
            let rows = results.map { r in
                "{\"outage_s\":\(Event.format(r.outage)),\"microturn_s\":[\(r.ours.map(Event.format).joined(separator: ","))],"
                    + "\"backoff_s\":[\(r.peer.map(Event.format).joined(separator: ","))],\"ratio_median\":\(Event.format(median(r.peer) / median(r.ours)))}"
            }
            print("{\"resume\":[\(rows.joined(separator: ","))]}")
            return
        }
        print("seconds from the network back to the session resumed (median, max over \(repeats))")
        print("outage s   microturn         backoff           ratio")
        for r in results {
            print(String(format: "%8.1f   %6.3f  %6.3f    %7.3f  %7.3f   %6.1f", r.outage, median(r.ours), r.ours.max()!,
                         median(r.peer), r.peer.max()!, median(r.peer) / median(r.ours)))
        }
    }

    /// Waits for a state, polling every 2 ms, for at most `seconds`.
    static func wait(_ seconds: Double, until done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() {
            guard Date() < deadline else { return false }
            usleep(2_000)
        }
        return true
    }
}
