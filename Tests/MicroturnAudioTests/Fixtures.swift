import Foundation
import MicroturnAudio
import MicroturnCore
import TestSupport

/// Test material made here: speech from the real espeak-ng, noise from a seeded generator.
enum Fixtures {
    static func tempDir() -> URL {
        let url = Scratch.directory.appendingPathComponent("microturn-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func speech(_ text: String, voice: String = "en-us", wpm: Int = 175) throws -> [Float] {
        try FreshSpeech(voice: .init(name: voice, rateWpm: wpm)).synthesize(text)
    }

    static func rms(_ x: ArraySlice<Float>) -> Double {
        (x.reduce(0) { $0 + Double($1 * $1) } / Double(max(1, x.count))).squareRoot()
    }

    static func scaled(_ x: [Float], toDb db: Double) -> [Float] {
        let g = Float(pow(10, db / 20) / max(rms(x[...]), 1e-9))
        return x.map { $0 * g }
    }

    static func noise(count: Int, db: Double, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        let a = Float(pow(10, db / 20) * 3.0.squareRoot())
        return (0..<count).map { _ in (Float(rng.next() % 2_000_001) / 1_000_000 - 1) * a }
    }

    static func frames(_ x: [Float]) -> [[Float]] {
        let n = ProcessingFormat.frameSamples
        return stride(from: 0, to: x.count - n + 1, by: n).map { Array(x[$0..<$0 + n]) }
    }
}
