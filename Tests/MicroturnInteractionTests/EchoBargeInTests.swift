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
    static func deviceSpeech() throws -> [Float] {
        var played: [Float] = []
        for text in ["Okay, I hear you. Go on.", "Got it. Tell me a little more.", "I see. That makes sense to me.",
                     "Right, understood. What else?", "Sorry, go ahead. I am listening."] {
            played += try FreshSpeech(voice: .init()).synthesize(text) + [Float](repeating: 0, count: 3200)
        }
        let rms = (played.reduce(0) { $0 + Double($1 * $1) } / Double(played.count)).squareRoot()
        return played.map { $0 * Float(pow(10, -18 / 20) / rms) }
    }

    /// Runs the chain; returns the frames where the policy decided to barge in. With `then`, the
    /// room changes to that path at sample `at` (the device was moved, a door opened).
    static func bargeIns(played: [Float], near: [Float], path: EchoPath.Spec,
                         then later: (path: EchoPath.Spec, at: Int)? = nil) throws -> [Int] {
        let config = MicroturnConfig()
        let listener = try Listener(config: config)
        let first = EchoPath(spec: path), second = later.map { EchoPath(spec: $0.path) }
        let policy = TurnTakingPolicy(config: config)
        var decisions: [Int] = []
        let n = ProcessingFormat.frameSamples
        for k in 0..<played.count / n {
            let ref = Array(played[k * n..<(k + 1) * n])
            let user = k * n + n <= near.count ? Array(near[k * n..<(k + 1) * n]) : [Float](repeating: 0, count: n)
            let room = later.map { k * n >= $0.at } == true ? second! : first
            let heard = listener.hear(microphone: room.microphone(near: user, played: ref), played: ref)
            let speaking = ref.contains { $0 != 0 }
            let f = FrameObservation(index: k, frameIsSpeech: heard.frameIsSpeech, inSpeech: heard.inSpeech,
                                     utteranceStartFrame: heard.startedAtFrame, deviceSpeaking: speaking,
                                     levelDb: heard.features.levelDb)
            if case .bargeIn = policy.onFrame(f) { decisions.append(k) }
        }
        return decisions
    }

    @Test(arguments: [(20.0, -6.0, 1 as UInt64), (40.0, -10.0, 2), (60.0, -6.0, 3), (35.0, -3.0, 4)])
    func echoAloneNeverBargesIn(delayMs: Double, gainDb: Double, seed: UInt64) throws {
        let played = try Self.deviceSpeech()
        let spec = EchoPath.Spec(delayMs: delayMs, gainDb: gainDb, reverbMs: 200, noiseDb: -65, seed: seed)
        let decisions = try Self.bargeIns(played: played, near: [], path: spec)
        #expect(decisions.isEmpty, "echo alone barged in at frames \(decisions)")
    }

    /// The echo path changes while the device talks: louder, later and more reverberant, so the
    /// canceller's filter is wrong and its residual jumps until it converges again. Echo must still
    /// never be the user. KNOWN BUG, kept visible: today the guard learns the new residual level
    /// only after about 5 frames of it, and the device interrupts itself a few frames after the
    /// change. When a fix makes this pass, `withKnownIssue` fails: turn it into a plain expectation.
    @Test(arguments: [(EchoPath.Spec(delayMs: 20, gainDb: -12, reverbMs: 100, noiseDb: -65, seed: 6),
                       EchoPath.Spec(delayMs: 60, gainDb: -4, reverbMs: 250, noiseDb: -65, seed: 7)),
                      (EchoPath.Spec(delayMs: 40, gainDb: -6, reverbMs: 200, noiseDb: -65, seed: 8),
                       EchoPath.Spec(delayMs: 25, gainDb: -3, reverbMs: 150, noiseDb: -65, seed: 9))])
    func echoAloneNeverBargesInWhenThePathChanges(before: EchoPath.Spec, after: EchoPath.Spec) throws {
        let played = try Self.deviceSpeech()
        // Mid-sentence, in the second line, once the canceller has long converged on the first path.
        let at = played.count * 2 / 5
        let decisions = try Self.bargeIns(played: played, near: [], path: before, then: (after, at))
        withKnownIssue("the echo guard takes the canceller's residual after an echo path change for the user") {
            #expect(decisions.isEmpty, "echo alone barged in at frames \(decisions) (the path changed at frame \(at / ProcessingFormat.frameSamples))")
        }
    }

    /// The device plays at -18 dBFS; its echo reaches the microphone 8 dB down, about as loud as
    /// the user at -26 dBFS, louder than a quiet user at -32.
    @Test(arguments: [-26.0, -32.0])
    func theUserTalkingOverTheDeviceBargesIn(userDb: Double) throws {
        let played = try Self.deviceSpeech()
        var user = try FreshSpeech(voice: .init(name: "en-us+f3")).synthesize("Wait one more thing.")
        let rms = (user.reduce(0) { $0 + Double($1 * $1) } / Double(user.count)).squareRoot()
        user = user.map { $0 * Float(pow(10, userDb / 20) / rms) }
        let start = 6 * ProcessingFormat.sampleRate
        let near = [Float](repeating: 0, count: start) + user
        let decisions = try Self.bargeIns(played: played, near: near,
                                          path: .init(delayMs: 40, gainDb: -8, reverbMs: 150, noiseDb: -65, seed: 5))
        // The harness keeps playing after a barge-in (a session would stop), so the user may cut
        // in again during their own utterance; none may come from echo before or after it.
        let seconds = decisions.map { Double($0 * ProcessingFormat.frameSamples - start) / Double(ProcessingFormat.sampleRate) }
        let userSeconds = Double(user.count) / Double(ProcessingFormat.sampleRate)
        #expect(!seconds.isEmpty, "the user was never heard over the device")
        #expect(seconds.allSatisfy { $0 >= 0 && $0 <= userSeconds + 0.3 }, "barge-ins at \(seconds) s from the user's start")
        if let first = seconds.first { #expect(first < 0.3, "barge-in decided \(first) s after the user began") }
    }
}
