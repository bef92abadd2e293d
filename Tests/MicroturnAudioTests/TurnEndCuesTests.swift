import MicroturnCore
import Foundation
@testable import MicroturnAudio
import Testing
import TestSupport

/// Prosodic cues on synthetic voiced sound whose pitch is known exactly.
@Suite(.ownThreads) struct TurnEndCuesTests {
    /// A vowel-like sound: ten harmonics of `f0(t)` with falling amplitude, at 16 kHz.
    static func voiced(seconds: Double, level: Float = 0.1, f0: (Double) -> Double) -> [Float] {
        let n = Int(seconds * 16_000)
        var phase = 0.0
        return (0..<n).map { i in
            phase += 2 * Double.pi * f0(Double(i) / 16_000) / 16_000
            var x = 0.0
            for h in 1...10 { x += sin(Double(h) * phase) / Double(h) }
            return Float(x) * level
        }
    }

    /// Feeds `audio` frame by frame, every frame marked as speech, then one silent frame.
    static func cues(_ audio: [Float]) -> TurnEndCues.Features? {
        let c = TurnEndCues()
        for start in stride(from: 0, to: audio.count - 319, by: 320) {
            let frame = Array(audio[start..<start + 320])
            c.add(frame, isSpeech: true, levelDb: FrameFeatures.measure(frame).levelDb)
        }
        c.add([Float](repeating: 0, count: 320), isSpeech: false, levelDb: -100)
        return c.measure()
    }

    @Test(arguments: [90.0, 150.0, 240.0])
    func pitchIsFoundWithinAQuarterTone(hz: Double) throws {
        let window = Self.voiced(seconds: 0.04, f0: { _ in hz })
        let semitones = try #require(TurnEndCues.pitch(window))
        #expect(abs(semitones - 12 * log2(hz / 55)) < 0.5)
    }

    @Test func noiseHasNoPitch() {
        var rng = SplitMix64(seed: 3)
        let noise = (0..<640).map { _ in Float(rng.next() % 2001) / 1000 - 1 }
        #expect(TurnEndCues.pitch(noise) == nil)
    }

    @Test func aFinalFallAndAContinuationRiseAreTold() throws {
        // One second at 140 Hz, then 400 ms falling to 100 Hz (a statement) or rising to 180 Hz.
        let fall = try #require(Self.cues(Self.voiced(seconds: 1.4, f0: { $0 < 1 ? 140 : 140 - 100 * ($0 - 1) })))
        let rise = try #require(Self.cues(Self.voiced(seconds: 1.4, f0: { $0 < 1 ? 140 : 140 + 100 * ($0 - 1) })))
        #expect(fall.finalSlope < -10 && rise.finalSlope > 10)
        #expect(fall.finalPitch < -3 && rise.finalPitch > 3)
        #expect(rise.finalRise > 2 && fall.finalRise < 1)
        #expect(abs(fall.duration - 1.4) < 0.05)
    }

    @Test func aHeldLevelVowelIsOneLongFlatRun() throws {
        // Syllables of 160 ms with 60 ms gaps, then "um": 500 ms held at one pitch.
        var audio: [Float] = []
        for k in 0..<5 {
            audio += Self.voiced(seconds: 0.16, f0: { 130 + 10 * Double(k % 2) + 40 * $0 })
            audio += [Float](repeating: 0, count: 960)
        }
        audio += Self.voiced(seconds: 0.5, f0: { _ in 120 })
        let um = try #require(Self.cues(audio))
        #expect(um.lastVoicedRun >= 0.44)
        #expect(um.lastRunSpread < 0.5)
        #expect(um.voicedEnd > 0.9)
    }
}
