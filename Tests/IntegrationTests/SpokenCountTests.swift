import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnLink
import MicroturnServer
import MicroturnSimulation
import MicroturnVision
import Testing
import TestSupport

/// Repetitions from a video counted aloud in a session on files: never started over the user,
/// cut the moment the user speaks, and "how many reps" answered from the counter.
@Suite(.serialized, .ownThreads) struct SpokenCountTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A squat clip (8 reps, 2 s each, one half-done among them) from tools/make-clips.py.
    static func clip(_ dir: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "tools/make-clips.py", "--out", dir, "--exercise", "squat", "--reps", "8", "--period", "2",
                       "--fps", "15", "--seed", "3"]
        p.currentDirectoryURL = repository
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "make-clips.py failed (tools/setup.sh --tests installs numpy)")
        return dir + "/clip-000.y4m"
    }

    /// Runs a session on `speech` (text, start second) over 19 s, with the clip as the camera.
    static func run(_ speech: [(String, Double)], clip: String, config: MicroturnConfig = MicroturnConfig()) throws -> [Event] {
        let synth = FreshSpeech(voice: .init(name: "en", rateWpm: 150))
        var audio = [Float](repeating: 0, count: 19 * 16_000)
        for (text, start) in speech {
            let s = try synth.synthesize(text).map { $0 * 0.5 }
            let at = Int(start * 16_000)
            for i in s.indices where at + i < audio.count { audio[at + i] = s[i] }
        }
        let d = SimulationTests.dir()
        try WavFile(sampleRate: 16_000, channels: 1, samples: audio).write(path: "\(d)/in.wav")
        let r = try Simulation.run(files: .init(capture: "\(d)/in.wav", playback: "\(d)/out.wav"), config: config, fast: true,
                                   repetitions: try VideoRepetitions(path: clip))
        return r.report.events
    }

    @Test func countsNeverStartOverTheUserAndStopWhenTheUserSpeaks() throws {
        let d = SimulationTests.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let clip = try Self.clip(d)
        let alone = try Self.run([], clip: clip)
        // Alone: every full repetition counted aloud, in order, from the second: a set starts on
        // its second repetition, and the first, which comes with it, is not said.
        let said = alone.filter { $0.kind == .count && $0.detail == nil }
        #expect(said.compactMap(\.text) == (2...8).map { "\($0)." }, "\(alone.map(\.jsonLine))")
        let first = alone.filter { $0.kind == .count && $0.text == "1." }
        #expect(first.count == 1 && first.first?.detail == "skipped: a later count came with it", "\(alone.map(\.jsonLine))")
        // Counts are not urgent: each starts at a micro-turn boundary (every 200 ms).
        for count in said {
            let k = count.time / 0.2
            #expect(abs(k - k.rounded()) < 1e-6, "count \(count.text ?? "") at \(count.time) s, between two boundaries")
        }
        guard said.count >= 3 else { return }
        // The user starts talking just after the third count has begun.
        let third = alone.first { $0.kind == .playbackStart && $0.time >= said[2].time }!.time
        let events = try Self.run([("I am getting tired, how much longer should I keep going", third + 0.08)], clip: clip)
        let spans = Event.userSpeech(in: events)
        for count in events where count.kind == .count && count.detail == nil {
            #expect(!spans.contains { $0.contains(count.time) }, "count \(count.text ?? "") at \(count.time) over the user: \(spans)")
        }
        #expect(events.contains { $0.kind == .count && $0.detail?.hasPrefix("skipped") == true }, "a count held back while the user spoke")
        // The third count yields at once: its playback cut within two frames of the user's first word.
        let userStart = try #require(spans.first { $0.lowerBound >= third }?.lowerBound)
        let cut = events.first { $0.kind == .playbackStop && $0.time >= third }
        #expect(cut?.detail == "cut" && (cut?.time ?? 99) - userStart <= 0.06, "\(events.map(\.jsonLine))")
    }

    @Test func howManyRepsIsAnsweredFromTheCounterAndATargetIsAnnounced() throws {
        let d = SimulationTests.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let clip = try Self.clip(d)
        var config = MicroturnConfig()
        config.reps.announce = "every5"
        config.reps.target = 8
        // Asked after the third repetition, while nothing is being said.
        let events = try Self.run([("how many reps", 6.9)], clip: clip, config: config)
        // Every fifth, and the target's milestones (said, or held back while the answer played).
        let counts = events.filter { $0.kind == .count }.compactMap(\.text)
        #expect(counts == ["Halfway.", "5.", "Last one.", "8. Done."], "\(counts) \(events.map(\.jsonLine))")
        let reply = events.first { $0.kind == .replyStart }?.text ?? ""
        #expect(["2 reps so far.", "3 reps so far."].contains(reply), "\(reply); \(events.map(\.jsonLine))")
    }

    @Test func theServersRemarkOnASetIsSaidInAPause() throws {
        let d = SimulationTests.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let clip = try Self.clip(d)
        let interjections = Interjections(minimumGap: .seconds(60))
        let server = try LinkServer(port: 0, security: .plaintext, events: { device, e in interjections.observe(device, e) },
                                    offers: [LinkCapabilities.interjections]) { job, _ in
            var r = Microturn_Link_V1_Result()
            r.taskID = job.task.taskID
            r.final = true
            return r
        }
        defer { server.shutdown() }
        var config = MicroturnConfig()
        config.link.server = "127.0.0.1:\(server.port)"
        config.link.deviceId = "mirror-test"
        config.link.plaintext = true
        config.link.directory = ""
        let events = try Self.run([], clip: clip, config: config)
        let counted = events.filter { $0.kind == .count && $0.detail == nil }
        let remark = try #require(events.first { $0.kind == .interjection }, "\(events.map(\.jsonLine))")
        #expect(remark.text?.hasPrefix("Nice set of ") == true, "\(remark)")
        // After the set's last count, when nothing else was being said.
        #expect(remark.time > (counted.last?.time ?? 0))
        // With interjections off on the device, none.
        config.link.interjections = false
        #expect(!(try Self.run([], clip: clip, config: config)).contains { $0.kind == .interjection })
    }
}
