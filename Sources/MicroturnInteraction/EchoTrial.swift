import Foundation
import MicroturnAudio
import MicroturnCore

/// The device's own speech played into a room (a synthetic echo path that may change partway, as
/// when the device is moved or a door opens), with or without someone talking over it, heard by
/// the real listening chain and judged by the real turn-taking policy. Where does the device barge
/// in on its own echo, and where on the user? One home for the echo tests and `bench echo`.
public enum EchoTrial {
    /// The device's five short lines with pauses, about 11 s, at -18 dBFS.
    public static func deviceSpeech() throws(AudioError) -> [Float] {
        var played: [Float] = []
        for text in ["Okay, I hear you. Go on.", "Got it. Tell me a little more.", "I see. That makes sense to me.",
                     "Right, understood. What else?", "Sorry, go ahead. I am listening."] {
            played += try FreshSpeech(voice: .init()).synthesize(text) + [Float](repeating: 0, count: 3200)
        }
        return scaled(played, toDb: -18)
    }

    /// `samples` with their RMS level set to `db` dBFS.
    public static func scaled(_ samples: [Float], toDb db: Double) -> [Float] {
        let rms = (samples.reduce(0) { $0 + Double($1 * $1) } / Double(max(1, samples.count))).squareRoot()
        guard rms > 0 else { return samples }
        return samples.map { $0 * Float(pow(10, db / 20) / rms) }
    }

    /// Frames where the policy decided something.
    public struct Decisions: Sendable {
        /// It barged in.
        public var bargeIns: [Int] = []
        /// It ducked for faint speech.
        public var ducks: [Int] = []
    }

    /// What the policy decided while `played` went out into the room of `path` and `near` (from
    /// sample 0) was said in it. With `later`, the room changes to that path at sample `at`. With
    /// `guardEcho` false, the echo guard is left out (the canceller alone).
    public static func decisions(played: [Float], near: [Float], path: EchoPath.Spec,
                                 then later: (path: EchoPath.Spec, at: Int)? = nil,
                                 guardEcho: Bool = true) throws(AudioError) -> Decisions {
        let config = MicroturnConfig()
        let listener = try Listener(config: config, guardEcho: guardEcho)
        let first = EchoPath(spec: path), second = later.map { EchoPath(spec: $0.path) }
        let policy = TurnTakingPolicy(config: config)
        var decisions = Decisions()
        let n = ProcessingFormat.frameSamples
        for k in 0..<played.count / n {
            let ref = Array(played[k * n..<(k + 1) * n])
            let user = k * n + n <= near.count ? Array(near[k * n..<(k + 1) * n]) : [Float](repeating: 0, count: n)
            let room = later.map { k * n >= $0.at } == true ? second! : first
            let heard = listener.hear(microphone: room.microphone(near: user, played: ref), played: ref)
            let f = FrameObservation(index: k, frameIsSpeech: heard.frameIsSpeech, inSpeech: heard.inSpeech,
                                     utteranceStartFrame: heard.startedAtFrame, deviceSpeaking: ref.contains { $0 != 0 },
                                     levelDb: heard.features.levelDb, frameMayBeSpeech: heard.frameMayBeSpeech)
            switch policy.onFrame(f) {
            case .bargeIn: decisions.bargeIns.append(k)
            case .duckForFaintSpeech: decisions.ducks.append(k)
            default: break
            }
        }
        return decisions
    }
}
