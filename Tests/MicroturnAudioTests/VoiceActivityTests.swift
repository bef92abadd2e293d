import Foundation
import MicroturnAudio
import MicroturnCore
import Testing
import TestSupport

/// Labelled synthesized speech at several levels in several noise levels: the adaptive VAD must
/// beat a fixed energy threshold. Labels come from the clean speech: a frame is speech when it is
/// within 16 dB of the talker's level (as ITU-T P.56 counts active speech).
@Suite(.ownThreads) struct VoiceActivityTests {
    struct Scores {
        var tp = 0, fp = 0, fn = 0
        var precision: Double { Double(tp) / Double(max(1, tp + fp)) }
        var recall: Double { Double(tp) / Double(max(1, tp + fn)) }
        var f1: Double { 2 * precision * recall / max(1e-9, precision + recall) }
        mutating func add(truth: Bool, said: Bool) {
            if truth && said { tp += 1 } else if said { fp += 1 } else if truth { fn += 1 }
        }
    }

    static let sentences = ["I would like to plan a trip to the mountains next week.",
                            "How long does it take to boil an egg?",
                            "The kitchen light has been flickering since yesterday."]

    @Test func adaptiveBeatsTheEnergyThreshold() throws {
        var adaptive = Scores(), energy = Scores()
        var worstAdaptive = 1.0, worstEnergy = 1.0
        var seed: UInt64 = 1
        for speechDb in [-22.0, -32.0] {
            for noiseDb in [-75.0, -55.0, -42.0, -36.0] {
                var clean: [Float] = [Float](repeating: 0, count: 16_000)
                for (i, s) in Self.sentences.enumerated() {
                    let voice = ["en-us", "en-us+f3", "en-gb"][i]
                    clean += Fixtures.scaled(try Fixtures.speech(s, voice: voice), toDb: speechDb)
                    clean += [Float](repeating: 0, count: 16_000)
                }
                let noise = Fixtures.noise(count: clean.count, db: noiseDb, seed: seed)
                seed += 1
                let noisy = zip(clean, noise).map(+)
                let a = VoiceActivityDetector(method: .adaptive), e = VoiceActivityDetector(method: .energy)
                var ca = Scores(), ce = Scores()
                defer {
                    adaptive.tp += ca.tp; adaptive.fp += ca.fp; adaptive.fn += ca.fn
                    energy.tp += ce.tp; energy.fp += ce.fp; energy.fn += ce.fn
                    worstAdaptive = min(worstAdaptive, ca.f1)
                    worstEnergy = min(worstEnergy, ce.f1)
                    print(String(format: "speech %.0f dBFS, noise %.0f dBFS: adaptive P %.2f R %.2f | energy P %.2f R %.2f",
                                 speechDb, noiseDb, ca.precision, ca.recall, ce.precision, ce.recall))
                }
                for (c, x) in zip(Fixtures.frames(clean), Fixtures.frames(noisy)) {
                    let truth = 20 * log10(max(Fixtures.rms(c[...]), 1e-9)) > speechDb - 16
                    ca.add(truth: truth, said: a.process(x).inSpeech)
                    ce.add(truth: truth, said: e.process(x).inSpeech)
                }
            }
        }
        print(String(format: "VAD adaptive: precision %.3f recall %.3f F1 %.3f | energy (-40 dBFS): precision %.3f recall %.3f F1 %.3f",
                     adaptive.precision, adaptive.recall, adaptive.f1, energy.precision, energy.recall, energy.f1))
        #expect(adaptive.f1 > energy.f1 + 0.03, "better over the whole set")
        #expect(worstAdaptive > worstEnergy + 0.1, "and much better in its worst noise condition")
        #expect(adaptive.f1 >= 0.85)
    }

    @Test func segmentsNeedOnsetAndBridgeShortGaps() {
        let vad = VoiceActivityDetector(method: .energy, energyThresholdDb: -40, onsetMs: 40, hangoverMs: 60)
        let loud = [Float](repeating: 0.1, count: 320).enumerated().map { $0.offset % 2 == 0 ? $0.element : -$0.element }
        let quiet = [Float](repeating: 0, count: 320)
        var starts: [Int] = [], ends: [Int] = []
        let pattern = [loud, quiet, loud, loud, loud, quiet, quiet, loud, quiet, quiet, quiet, quiet, quiet]
        for f in pattern {
            let r = vad.process(f)
            if let s = r.startedAtFrame { starts.append(s) }
            if let e = r.endedAtFrame { ends.append(e) }
        }
        #expect(starts == [2], "one frame of sound is not an utterance; two are")
        #expect(ends == [8], "the two-frame gap is bridged; the utterance ends after frame 7")
    }
}
