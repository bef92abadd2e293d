import Foundation
import MicroturnCore

/// A simulated acoustic path from the device's loudspeaker back to its microphone: a direct echo
/// after `delayMs`, attenuated by `gainDb`, a sparse exponentially decaying reverberant tail of
/// `reverbMs` (RT60), and white noise at `noiseDb` dBFS. Deterministic for a given seed.
/// Used by simulations and tests; a real room does this on a real board.
public final class EchoPath {
    public struct Spec: Sendable, Equatable {
        public var delayMs: Double
        public var gainDb: Double
        public var reverbMs: Double
        public var noiseDb: Double
        public var seed: UInt64

        public init(delayMs: Double = 40, gainDb: Double = -10, reverbMs: Double = 150, noiseDb: Double = -70, seed: UInt64 = 1) {
            self.delayMs = delayMs
            self.gainDb = gainDb
            self.reverbMs = reverbMs
            self.noiseDb = noiseDb
            self.seed = seed
        }

        /// Parses `DELAY_MS:GAIN_DB[:REVERB_MS[:NOISE_DB]]`, e.g. `40:-10:150:-70`.
        public init?(parsing text: String) {
            let parts = text.split(separator: ":").map { Double($0) }
            guard (2...4).contains(parts.count), parts.allSatisfy({ $0 != nil }) else { return nil }
            let v = parts.map { $0! }
            self.init(delayMs: v[0], gainDb: v[1], reverbMs: v.count > 2 ? v[2] : 150, noiseDb: v.count > 3 ? v[3] : -70)
            guard (0...500).contains(delayMs), (-80...6).contains(gainDb), (0...1000).contains(reverbMs), noiseDb <= 0 else { return nil }
        }
    }

    public let spec: Spec
    private let taps: [(lag: Int, gain: Float)]
    private let maxLag: Int
    private var history: [Float]  // the last maxLag reference samples, then the current frame
    private var rng: SplitMix64
    private let noiseAmplitude: Float

    public init(spec: Spec) {
        self.spec = spec
        var rng = SplitMix64(seed: spec.seed)
        let rate = Double(ProcessingFormat.sampleRate)
        let direct = Int(spec.delayMs * rate / 1000)
        let g = Float(pow(10, spec.gainDb / 20))
        var taps: [(Int, Float)] = [(direct, g)]
        let reverbSamples = Int(spec.reverbMs * rate / 1000)
        if reverbSamples > 0 {
            // 60 dB of decay over reverbMs; a tap every ~2 ms with random sign and jitter.
            let step = max(1, Int(rate / 500))
            var lag = step
            while lag < reverbSamples {
                let decay = pow(10, -3 * Double(lag) / Double(reverbSamples))
                let jitter = Int(rng.next() % UInt64(step))
                let sign: Float = rng.next() & 1 == 0 ? 1 : -1
                taps.append((direct + lag + jitter, g * 0.5 * Float(decay) * sign))
                lag += step
            }
        }
        self.taps = taps
        maxLag = taps.map(\.0).max() ?? 0
        history = [Float](repeating: 0, count: maxLag)
        self.rng = rng
        noiseAmplitude = Float(pow(10, spec.noiseDb / 20) * 3.0.squareRoot())  // uniform noise of that RMS
    }

    /// The microphone signal for one frame: `near` (what the room says besides the device) plus the
    /// echo of `played` (what the loudspeaker played during the same samples) plus noise.
    public func microphone(near: [Float], played: [Float]) -> [Float] {
        history.append(contentsOf: played)
        var out = near
        let base = history.count - played.count
        for i in 0..<out.count {
            var echo: Float = 0
            for tap in taps { echo += history[base + i - tap.lag] * tap.gain }
            let noise = (Float(rng.next() % 2_000_001) / 1_000_000 - 1) * noiseAmplitude
            out[i] += echo + noise
        }
        history.removeFirst(history.count - maxLag)
        return out
    }
}
