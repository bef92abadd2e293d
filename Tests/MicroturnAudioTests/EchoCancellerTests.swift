import Foundation
import MicroturnAudio
import MicroturnCore
import Testing
import TestSupport

/// The device's own speech through a synthetic echo path (delayed, attenuated, reverberant, plus
/// noise), cancelled by the real speexdsp canceller with what was played as the reference.
@Suite(.ownThreads) struct EchoCancellerTests {
    static func deviceSpeech() throws -> [Float] {
        var played: [Float] = []
        for text in ["Okay, I hear you. Go on.", "Got it. Tell me a little more.", "I see. That makes sense to me.",
                     "Right, understood. What else?", "Sorry, go ahead. I am listening."] {
            played += try Fixtures.speech(text) + [Float](repeating: 0, count: 3200)
        }
        return Fixtures.scaled(played, toDb: -18)
    }

    @Test(arguments: [20.0, 40.0, 60.0])
    func returnLossEnhancementIsAtLeast20dBAfterConvergence(delayMs: Double) throws {
        let played = try Self.deviceSpeech()
        let path = EchoPath(spec: .init(delayMs: delayMs, gainDb: -8, reverbMs: 150, noiseDb: -65, seed: 3))
        let ec = try EchoCanceller(tailMs: 200, suppressDb: -40)
        var echoEnergy = 0.0, residualEnergy = 0.0
        let converged = 3 * ProcessingFormat.sampleRate
        for (k, ref) in Fixtures.frames(played).enumerated() {
            var mic = path.microphone(near: [Float](repeating: 0, count: ref.count), played: ref)
            let before = mic
            ec.process(microphone: &mic, reference: ref)
            if k * ref.count >= converged {
                echoEnergy += before.reduce(0) { $0 + Double($1 * $1) }
                residualEnergy += mic.reduce(0) { $0 + Double($1 * $1) }
            }
        }
        let erle = 10 * log10(echoEnergy / max(residualEnergy, 1e-12))
        print("ERLE with a \(Int(delayMs)) ms echo path: \(String(format: "%.1f", erle)) dB")
        #expect(erle >= 20)
    }
}
