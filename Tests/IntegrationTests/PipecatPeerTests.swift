import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import MicroturnSimulation
import Testing
import TestSupport

/// `bench turns --pipecat`: Pipecat's turn stack (the pipecat-ai wheel, in .venv-peers from
/// tools/setup.sh --tests) decides on a dialog, and a session acts on its decisions.
@Suite(.ownThreads) struct PipecatPeerTests {
    /// By absolute path: another suite changes the process's folder (PostgresFailoverTests).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let python = "\(repository)/.venv-peers/bin/python"
    static let script = "\(repository)/tools/pipecat-peer.py"

    /// The peer's config in bench turns: no commands, murmurs or turn-end model; it stops at once.
    static var peerConfig: MicroturnConfig { PipecatPeer.sessionConfig(MicroturnConfig()) }

    @Test func aScheduleDecidesOnTheFrameItNames() {
        let policy = ScheduledTurnPolicy(marks: [.end(at: 3 * 320 + 5, speechStart: 0, speechEnd: 320),
                                                 .start(at: 320, speechStart: 100), .start(at: 6 * 320, speechStart: 5 * 320)])
        var decided: [(Int, TurnDecision)] = []
        for i in 0..<10 {
            let f = FrameObservation(index: i, frameIsSpeech: false, inSpeech: false, utteranceStartFrame: nil,
                                     deviceSpeaking: i >= 5, levelDb: -70)
            if let d = policy.onFrame(f) { decided.append((i, d)) }
        }
        // The start at frame 0's end comes while the device is quiet: nothing to do. The end at a
        // sample inside frame 3 is acted on at that frame's end, never before; the start while the
        // device talks is a barge-in.
        #expect(decided.map(\.0) == [3, 5])
        #expect(decided.map(\.1) == [.turnEnd(speechEnd: 320, speechStart: 0), .bargeIn(speechStart: 5 * 320)])
    }

    @Test func aSessionRepliesAtTheScheduledEndAndStopsAtTheScheduledStart() throws {
        let d = SimulationTests.dir()
        try WavFile(sampleRate: 16_000, channels: 1, samples: [Float](repeating: 0, count: 6 * 16_000)).write(path: "\(d)/in.wav")
        let marks: [ScheduledTurnPolicy.Mark] = [.end(at: 16_000, speechStart: 3200, speechEnd: 12_800),
                                                 .start(at: 24_000, speechStart: 20_800),
                                                 .end(at: 48_000, speechStart: 20_800, speechEnd: 44_800)]
        let r = try Simulation.run(files: .init(capture: "\(d)/in.wav", playback: "\(d)/out.wav"), config: Self.peerConfig,
                                   fast: true, scheduledTurns: marks)
        let events = r.report.events
        let log = events.map(\.jsonLine).joined(separator: "\n")
        #expect(events.filter { $0.kind == .replyStart }.count == 2, "a reply to each turn the peer ended:\n\(log)")
        let starts = events.filter { $0.kind == .playbackStart }.map(\.time)
        #expect(starts.first.map { $0 >= 1.0 } == true, "not before the peer ended the turn:\n\(log)")
        let barge = events.first { $0.kind == .bargeIn }
        #expect(barge.map { $0.time >= 1.5 && $0.time < 1.55 } == true, "the barge-in on the frame of the peer's start:\n\(log)")
        // Cut at once (stop_after_ms 0): the device's last sample well before its reply would end.
        let cut = events.first { $0.kind == .playbackStop && $0.detail == "cut" }
        #expect(cut.map { $0.time < 1.8 } == true, "\(log)")
        #expect(starts.count == 2 && starts[1] >= 3.0, "the second reply after the second end:\n\(log)")
    }

    @Test func badPeerOutputAndAMissingPeerAreClearErrors() throws {
        let d = SimulationTests.dir()
        let good = #"{"peer":"p","smart_turn_ms":{"calls":2,"p50":70.5,"p95":80},"dialogs":{"dialog-001":[{"kind":"start","at":3200,"speechStart":0},{"kind":"end","at":9600,"speechStart":0,"speechEnd":6400,"by":"model","probability":0.9}]}}"#
        try good.write(toFile: "\(d)/good.json", atomically: true, encoding: .utf8)
        let peer = try PipecatPeer.read(path: "\(d)/good.json")
        #expect(peer.marks["dialog-001"] == [.start(at: 3200, speechStart: 0), .end(at: 9600, speechStart: 0, speechEnd: 6400)])
        #expect(peer.computeP50Ms == 70.5 && peer.calls == 2)
        let bad = good.replacingOccurrences(of: #""kind":"end""#, with: #""kind":"stop""#)
        try bad.write(toFile: "\(d)/bad.json", atomically: true, encoding: .utf8)
        #expect { try PipecatPeer.read(path: "\(d)/bad.json") } throws: { e in
            (e as? PipecatPeer.Failure).map { !$0.unavailable && $0.description.contains("'stop'") } ?? false
        }
        #expect { try PipecatPeer.run(python: "\(d)/no-python", script: Self.script, dialogs: d, out: "\(d)/o.json") } throws: { e in
            (e as? PipecatPeer.Failure).map { $0.unavailable && $0.description.contains("tools/setup.sh --peers") } ?? false
        }
    }

    @Test func benchTurnsWithoutThePeersPythonExits69() throws {
        let d = SimulationTests.dir()
        try DialogScript.write(try DialogScript.make(seed: 3, turns: 1, interruptEvery: 0, noise: false), name: "dialog-001", directory: d)
        let r = try CommandLineTests.run(["bench", "turns", "--dialogs", d, "--idle-seconds", "0", "--pipecat", "--peer-python", "\(d)/none"])
        #expect(r.status == 69 && r.err.contains("tools/setup.sh --peers"), "\(r)")
    }

    /// The real Pipecat on a synthesized dialog: it hears each turn start and ends it, by its model
    /// or after its 3 s of silence, so the peer's figures in bench turns come from real decisions.
    @Test func pipecatsTurnStackDecidesOnADialog() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.python), "no \(Self.python): run tools/setup.sh --tests")
        let d = SimulationTests.dir()
        let dialog = try DialogScript.make(seed: 4, turns: 3, interruptEvery: 0, noise: false)
        try DialogScript.write(dialog, name: "dialog-001", directory: d)
        let peer = try PipecatPeer.run(python: Self.python, script: Self.script, dialogs: d, out: "\(d)/peer.json")
        #expect(peer.name.contains("pipecat-ai 1.14.0"))
        let marks = peer.marks["dialog-001"] ?? []
        let turns = dialog.labels.utterances.filter { $0.kind == "turn" }
        #expect(turns.count == 3)
        for u in turns {
            let (start, end) = (Int(u.start * 16_000), Int(u.end * 16_000))
            // Silero confirms speech after its 0.2 s start (the label's start is the synthesizer's,
            // whose first phoneme can be quiet).
            let heard = marks.contains { if case let .start(at, _) = $0 { at >= start + 3000 && at <= start + 13_000 } else { false } }
            #expect(heard, "\(u.text) at \(u.start) s: \(marks)")
            // The turn ends after the speech does: 0.2 s of VAD stop after the speech it heard end
            // (which can be a little before the label's end), then the model's verdict, or 3 s more
            // (Smart Turn's verdict on one of these turns is near its margin: it went either way
            // on two hosts).
            let ended = marks.contains {
                if case let .end(at, _, speechEnd) = $0 { at > end && at <= end + 56_000 && abs(speechEnd - end) <= 4800 } else { false }
            }
            #expect(ended, "\(u.text) ending at \(u.end) s: \(marks)")
        }
        #expect(peer.calls >= 3, "Smart Turn was asked at least once a turn")
    }
}
