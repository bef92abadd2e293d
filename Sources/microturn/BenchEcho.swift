import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation

/// `microturn bench echo`: does the device barge in on its own echo, in rooms that stay and rooms
/// that change while it talks, and does it still hear a user talking over it?
struct BenchEcho: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Self-interruptions on the device's own echo (rooms that stay, rooms that change) and users heard over it, beside the canceller alone.",
        discussion: """
        Plays the device's speech (five espeak-ng lines, about 11 s) into --cases synthetic rooms drawn \
        from --seed (echo delay 10-80 ms, gain -15 to -2 dB, reverberation 60-300 ms): every other \
        room changes to another partway through (the device was moved, a door opened), and every \
        other pair of cases has a user talking over the device (one of five voices and five \
        interruptions, -36 to -18 dBFS). Each case goes through the real listening chain \
        (speexdsp canceller, echo guard, VAD) and the real turn-taking policy, and, side by side, \
        through the same chain without the echo guard (the canceller alone, the peer). Prints the \
        cases where the device barged in on echo alone, the users heard over the device (a barge-in \
        while they spoke; without the guard the device has often barged in on its echo already, and \
        a policy that has does not barge in again) and how soon after their onset; and where it \
        ducked for faint speech (a frame that may be the user's over the echo, too little to barge \
        in on): on echo alone, and how soon after the users' onsets (or their barge-in, if that came \
        first). Deterministic \
        for a seed: tune on one, report on another.

        Example: microturn bench echo --seed 1 (to tune on), then microturn bench echo --seed 2 (to report)
        """)

    @Option(help: "Number of cases (1-400).") var cases = 32
    @Option(help: "Seed of the rooms, users and timings.") var seed: UInt64 = 2
    @Flag(help: "Print the figures as one JSON object.") var json = false

    func validate() throws { try FlagChecks.integer(cases, "--cases", 1...400) }

    struct Case {
        var changes: Bool
        var userStart: Int?  // first frame of the user's speech
        var userEnd = 0      // frame after it
        var guarded: [Int] = [], alone: [Int] = []
        var ducks: [Int] = []  // ducks for faint speech, with the guard
    }

    static let voices = ["en-us+f3", "en-us+m3", "en-gb+f2", "en-us+m7", "en+f4"]
    static let interruptions = ["Wait one more thing.", "Hold on, I have a question.", "No no, that is not what I meant.",
                                "Stop please.", "Actually, can you repeat that?"]

    func run() throws {
        try withExitCodes {
            let played = try EchoTrial.deviceSpeech()
            let n = ProcessingFormat.frameSamples
            var rng = SplitMix64(seed: seed)
            func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * Double(rng.next() % 1_000_001) / 1_000_000 }
            func room() -> EchoPath.Spec {
                EchoPath.Spec(delayMs: uniform(10, 80), gainDb: uniform(-15, -2), reverbMs: uniform(60, 300), noiseDb: -65, seed: rng.next())
            }
            var results: [Case] = []
            for i in 0..<cases {
                let before = room(), after = room()
                let change = i % 2 == 0 ? Int(uniform(0.25, 0.9) * Double(played.count)) : nil
                var near: [Float] = []
                var c = Case(changes: change != nil)
                if i / 2 % 2 == 1 {
                    let voice = Self.voices[Int(rng.next() % UInt64(Self.voices.count))]
                    let text = Self.interruptions[Int(rng.next() % UInt64(Self.interruptions.count))]
                    let user = EchoTrial.scaled(try FreshSpeech(voice: .init(name: voice)).synthesize(text), toDb: uniform(-36, -18))
                    let start = Int(uniform(0.15, 0.85) * Double(played.count)) / n * n
                    near = [Float](repeating: 0, count: start) + user
                    // The user's span: from their first to their last frame above -50 dBFS.
                    let loud = stride(from: 0, to: user.count - n + 1, by: n).filter { EchoGuard.level(Array(user[$0..<$0 + n])) > -50 }
                    if let first = loud.first, let last = loud.last { c.userStart = (start + first) / n; c.userEnd = (start + last) / n + 1 }
                }
                let later = change.map { (path: after, at: $0) }
                let guarded = try EchoTrial.decisions(played: played, near: near, path: before, then: later)
                c.guarded = guarded.bargeIns
                c.ducks = guarded.ducks
                c.alone = try EchoTrial.decisions(played: played, near: near, path: before, then: later, guardEcho: false).bargeIns
                results.append(c)
                FileHandle.standardError.write(Data("bench echo: [\(i + 1)/\(cases)] room \(Self.describe(before))\(change.map { " changes at frame \($0 / n) to \(Self.describe(after))" } ?? " stays")\(c.userStart.map { ", user from frame \($0)" } ?? ""): barge-ins \(c.guarded), ducks \(c.ducks), without the guard \(c.alone)\n".utf8))
            }
            report(results, deviceFrames: Set((0..<played.count / n).filter { k in played[k * n..<(k + 1) * n].contains { $0 != 0 } }))
        }
    }

    /// A room as delay, gain and reverberation time, for the progress lines.
    static func describe(_ room: EchoPath.Spec) -> String {
        String(format: "%.0f ms %.0f dB %.0f ms", room.delayMs, room.gainDb, room.reverbMs)
    }

    /// The user's speech ends on its last loud frame; a barge-in decided up to 0.3 s later is still theirs.
    static let lateFrames = 15

    func report(_ results: [Case], deviceFrames: Set<Int>) {
        func onEcho(_ c: Case, _ d: [Int]) -> Bool {
            d.contains { k in c.userStart.map { !(k >= $0 && k < c.userEnd + Self.lateFrames) } ?? true }
        }
        // Users who spoke while the device did: only they can barge in.
        let over = results.filter { c in c.userStart.map { s in (s..<c.userEnd).contains { deviceFrames.contains($0) } } ?? false }
        func heard(_ c: Case, _ d: [Int]) -> Int? {
            d.first { $0 >= c.userStart! && $0 < c.userEnd + Self.lateFrames }.map { $0 - c.userStart! }
        }
        let frameMs = Double(1000 * ProcessingFormat.frameSamples / ProcessingFormat.sampleRate)
        struct Column { var stays: Int; var changes: Int; var heard: Int; var latencies: [Double] }
        func column(_ pick: (Case) -> [Int]) -> Column {
            let delays = over.compactMap { heard($0, pick($0)) }.map { Double($0) * frameMs }
            return Column(stays: results.filter { !$0.changes && onEcho($0, pick($0)) }.count,
                          changes: results.filter { $0.changes && onEcho($0, pick($0)) }.count,
                          heard: delays.count, latencies: delays)
        }
        let g = column(\.guarded), a = column(\.alone)
        // The device ducks for a user at their first faint frame or their barge-in, whichever comes first.
        let d = column { ($0.ducks + $0.guarded).sorted() }, onlyDucks = column(\.ducks)
        let staying = results.filter { !$0.changes }.count, changing = results.count - staying
        if json {
            func obj(_ c: Column, _ more: String = "") -> String {
                let p = { (q: Double) in Percentile.of(c.latencies, q).map { String(Int($0)) } ?? "null" }
                return "{\"self_interrupted_room_stays\":\(c.stays),\"self_interrupted_room_changes\":\(c.changes),\"users_heard\":\(c.heard),\"barge_in_ms_p50\":\(p(50)),\"barge_in_ms_p95\":\(p(95))\(more)}"
            }
            let p = { (q: Double) in Percentile.of(d.latencies, q).map { String(Int($0)) } ?? "null" }
            let ducks = ",\"ducked_on_echo_room_stays\":\(onlyDucks.stays),\"ducked_on_echo_room_changes\":\(onlyDucks.changes),\"users_ducked_for\":\(d.heard),\"duck_ms_p50\":\(p(50)),\"duck_ms_p95\":\(p(95))"
            print("{\"cases\":\(results.count),\"seed\":\(seed),\"rooms_that_stay\":\(staying),\"rooms_that_change\":\(changing),\"users_over_the_device\":\(over.count),\"microturn\":\(obj(g, ducks)),\"canceller_alone\":\(obj(a))}")
            return
        }
        func ratio(_ x: Int, _ y: Int) -> String { y == 0 ? "-" : String(format: "%.2f", Double(x) / Double(y)) }
        func ms(_ c: Column, _ q: Double) -> String { Percentile.of(c.latencies, q).map { String(Int($0)) } ?? "-" }
        func row(_ label: String, _ x: String, _ y: String, _ r: String) -> String {
            label.padding(toLength: 38, withPad: " ", startingAt: 0) + x.padding(toLength: 12, withPad: " ", startingAt: 0)
                + y.padding(toLength: 18, withPad: " ", startingAt: 0) + r
        }
        print("bench echo: \(results.count) cases, seed \(seed)")
        print(row("", "microturn", "canceller alone", "ratio"))
        print(row("barged in on its own echo", "", "", ""))
        print(row("  room stays", "\(g.stays)/\(staying)", "\(a.stays)/\(staying)", ratio(g.stays, a.stays)))
        print(row("  room changes while it talks", "\(g.changes)/\(changing)", "\(a.changes)/\(changing)", ratio(g.changes, a.changes)))
        print(row("users heard over the device", "\(g.heard)/\(over.count)", "\(a.heard)/\(over.count)", ""))
        print(row("barge-in after onset p50/p95 (ms)", "\(ms(g, 50))/\(ms(g, 95))", "\(ms(a, 50))/\(ms(a, 95))", ""))
        print(row("ducked for faint speech on its echo", "", "", ""))
        print(row("  room stays", "\(onlyDucks.stays)/\(staying)", "", ""))
        print(row("  room changes while it talks", "\(onlyDucks.changes)/\(changing)", "", ""))
        print(row("users ducked for (or barged in on)", "\(d.heard)/\(over.count)", "", ""))
        print(row("duck decided after onset p50/p95 (ms)", "\(ms(d, 50))/\(ms(d, 95))", "", ""))
    }
}
