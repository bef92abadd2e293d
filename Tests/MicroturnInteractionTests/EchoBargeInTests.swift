import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInteraction
import Testing
import TestSupport

/// The device's own speech through synthetic echo paths, heard by the real listening chain
/// (speexdsp canceller, echo guard, VAD) and judged by the real policy: echo alone must never
/// barge in; the user talking over the device must.
@Suite(.ownThreads) struct EchoBargeInTests {
    @Test(arguments: [(20.0, -6.0, 1 as UInt64), (40.0, -10.0, 2), (60.0, -6.0, 3), (35.0, -3.0, 4)])
    func echoAloneNeverBargesIn(delayMs: Double, gainDb: Double, seed: UInt64) throws {
        let played = try EchoTrial.deviceSpeech()
        let spec = EchoPath.Spec(delayMs: delayMs, gainDb: gainDb, reverbMs: 200, noiseDb: -65, seed: seed)
        let decisions = try EchoTrial.decisions(played: played, near: [], path: spec)
        #expect(decisions.bargeIns.isEmpty, "echo alone barged in at frames \(decisions.bargeIns)")
        #expect(decisions.ducks.isEmpty, "echo alone ducked the device at frames \(decisions.ducks)")
    }

    /// The echo path changes while the device talks (louder, shorter, less reverberant), so the
    /// canceller's filter is wrong and what it leaves jumps until it converges again. Echo must
    /// still never be the user: what the filter leaves is then its own estimate, sign flipped.
    @Test func echoAloneNeverBargesInWhenThePathChanges() throws {
        let decisions = try Self.bargeInsWhenThePathChanges(
            before: .init(delayMs: 40, gainDb: -6, reverbMs: 200, noiseDb: -65, seed: 8),
            after: .init(delayMs: 25, gainDb: -3, reverbMs: 150, noiseDb: -65, seed: 9))
        #expect(decisions.isEmpty, "echo alone barged in at frames \(decisions)")
    }

    /// KNOWN BUG, kept visible: when the new echo is much louder than the old (here 8 dB, later and
    /// more reverberant), what the filter wrongly removes is a small part of what it leaves; the
    /// rest is the new echo itself, which neither its level nor its correlation with what the
    /// filter removed tells from a voice, and the device interrupts itself a few frames after the
    /// change. When a fix makes this pass, `withKnownIssue` fails: turn it into a plain expectation.
    @Test func echoAloneAfterThePathGrowsLouderIsAKnownBug() throws {
        let decisions = try Self.bargeInsWhenThePathChanges(
            before: .init(delayMs: 20, gainDb: -12, reverbMs: 100, noiseDb: -65, seed: 6),
            after: .init(delayMs: 60, gainDb: -4, reverbMs: 250, noiseDb: -65, seed: 7))
        withKnownIssue("the echo guard takes the new echo after the path grew louder for the user") {
            #expect(decisions.isEmpty, "echo alone barged in at frames \(decisions)")
        }
    }

    /// Barge-ins on the device's speech alone, the room changing mid-sentence, in the second line,
    /// once the canceller has long converged on the first path.
    static func bargeInsWhenThePathChanges(before: EchoPath.Spec, after: EchoPath.Spec) throws -> [Int] {
        let played = try EchoTrial.deviceSpeech()
        return try EchoTrial.decisions(played: played, near: [], path: before, then: (after, played.count * 2 / 5)).bargeIns
    }

    /// The device plays at -18 dBFS; its echo reaches the microphone 8 dB down, about as loud as
    /// the user at -26 dBFS, louder than a quiet user at -32.
    @Test(arguments: [-26.0, -32.0])
    func theUserTalkingOverTheDeviceBargesIn(userDb: Double) throws {
        let played = try EchoTrial.deviceSpeech()
        let user = EchoTrial.scaled(try FreshSpeech(voice: .init(name: "en-us+f3")).synthesize("Wait one more thing."), toDb: userDb)
        let start = 6 * ProcessingFormat.sampleRate
        let near = [Float](repeating: 0, count: start) + user
        let decisions = try EchoTrial.decisions(played: played, near: near,
                                                path: .init(delayMs: 40, gainDb: -8, reverbMs: 150, noiseDb: -65, seed: 5))
        // The harness keeps playing after a barge-in (a session would stop), so the user may cut
        // in again during their own utterance; none may come from echo before or after it, and
        // no duck for faint speech either.
        func seconds(_ frames: [Int]) -> [Double] {
            frames.map { Double($0 * ProcessingFormat.frameSamples - start) / Double(ProcessingFormat.sampleRate) }
        }
        let bargeIns = seconds(decisions.bargeIns), ducks = seconds(decisions.ducks)
        let userSeconds = Double(user.count) / Double(ProcessingFormat.sampleRate)
        #expect(!bargeIns.isEmpty, "the user was never heard over the device")
        #expect(bargeIns.allSatisfy { $0 >= 0 && $0 <= userSeconds + 0.3 }, "barge-ins at \(bargeIns) s from the user's start")
        #expect(ducks.allSatisfy { $0 >= 0 && $0 <= userSeconds + 0.3 }, "ducks at \(ducks) s from the user's start")
        if let first = bargeIns.first { #expect(first < 0.3, "barge-in decided \(first) s after the user began") }
    }
}
