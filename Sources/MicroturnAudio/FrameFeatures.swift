import Foundation

/// What the VAD looks at in one 20 ms frame.
public struct FrameFeatures: Sendable, Equatable {
    /// RMS level in dBFS (floor -100).
    public var levelDb: Double
    /// Peak normalized autocorrelation over pitch lags (50-400 Hz): near 1 for voiced speech,
    /// low for noise.
    public var voicing: Double

    public static func measure(_ frame: [Float], sampleRate: Int = 16_000) -> FrameFeatures {
        var energy: Double = 0
        var mean: Double = 0
        for x in frame { mean += Double(x) }
        mean /= Double(max(1, frame.count))
        for x in frame { let d = Double(x) - mean; energy += d * d }
        let rms = (energy / Double(max(1, frame.count))).squareRoot()
        let level = 20 * log10(max(rms, 1e-5))
        return FrameFeatures(levelDb: level, voicing: level < -70 ? 0 : voicing(frame, mean: Float(mean), sampleRate: sampleRate))
    }

    /// Normalized autocorrelation peak over lags of 2.5-20 ms, on the frame decimated by 2
    /// (speech pitch lives well below 4 kHz, and this halves the cost).
    static func voicing(_ frame: [Float], mean: Float, sampleRate: Int) -> Double {
        let n = frame.count / 2
        var x = [Float](repeating: 0, count: n)
        for i in 0..<n { x[i] = (frame[2 * i] + frame[2 * i + 1]) * 0.5 - mean }
        let rate = sampleRate / 2
        let minLag = rate / 400, maxLag = min(n / 2, rate / 50)
        guard maxLag > minLag else { return 0 }
        var best: Float = 0
        x.withUnsafeBufferPointer { p in
            for lag in minLag...maxLag {
                var xy: Float = 0, xx: Float = 0, yy: Float = 0
                for i in 0..<(n - lag) {
                    let a = p[i], b = p[i + lag]
                    xy += a * b
                    xx += a * a
                    yy += b * b
                }
                let denom = (xx * yy).squareRoot()
                if denom > 1e-12 { best = max(best, xy / denom) }
            }
        }
        return Double(best)
    }
}
