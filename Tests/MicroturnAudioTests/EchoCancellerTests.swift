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

    /// The correlation between what the filter left and what it removed tells an echo path change
    /// (the filter subtracts an echo that is no longer there) from a user talking over a filter
    /// that fits: strongly negative just after the change, and not for the user's voice.
    @Test func whatTheFilterLeavesIsItsOwnEstimateAfterTheEchoPathChanges() throws {
        let played = try Self.deviceSpeech()
        let n = ProcessingFormat.frameSamples
        let change = played.count * 2 / 5 / n  // mid-sentence, long after convergence
        let user = Fixtures.scaled(try Fixtures.speech("Wait, one more thing.", voice: "en-us+f3"), toDb: -24)
        let userFrom = 6 * ProcessingFormat.sampleRate / n
        func correlations(moved: Bool, talking: Bool) throws -> [Double] {
            let first = EchoPath(spec: .init(delayMs: 20, gainDb: -12, reverbMs: 100, noiseDb: -65, seed: 6))
            let second = EchoPath(spec: .init(delayMs: 60, gainDb: -4, reverbMs: 250, noiseDb: -65, seed: 7))
            let ec = try EchoCanceller(tailMs: 200, suppressDb: -40)
            return Fixtures.frames(played).enumerated().map { k, ref in
                var near = [Float](repeating: 0, count: n)
                if talking, k >= userFrom, (k - userFrom + 1) * n <= user.count { near = Array(user[(k - userFrom) * n..<(k - userFrom + 1) * n]) }
                var mic = (moved && k >= change ? second : first).microphone(near: near, played: ref)
                ec.process(microphone: &mic, reference: ref)
                return ec.leftToRemovedCorrelation
            }
        }
        let moved = try correlations(moved: true, talking: false)
        let afterChange = moved[change..<change + 10]
        #expect(afterChange.contains { $0 <= -0.5 }, "after the change: \(afterChange.map { String(format: "%.2f", $0) })")
        // The user's loud frames over a filter that fits: what is left is their voice, not the filter's error.
        let talking = try correlations(moved: false, talking: true)
        let loud = (userFrom..<userFrom + user.count / n).filter { k in Fixtures.rms(user[(k - userFrom) * n..<(k - userFrom + 1) * n]) > 0.01 }
        let taken = loud.filter { talking[$0] <= -0.5 }
        // Today: -0.75 and -1.0 in the first frames after the change; the user's frames no lower than -0.27.
        #expect(loud.count > 20 && taken.isEmpty, "\(taken.count) of the user's \(loud.count) loud frames look like a diverged filter")
    }
}
