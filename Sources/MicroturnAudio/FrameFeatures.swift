import Foundation

/// What the VAD looks at in one 20 ms frame (16 kHz).
public struct FrameFeatures: Sendable, Equatable {
    /// RMS level in dBFS (floor -100).
    public var levelDb: Double
    /// Level of the speech band (250-3500 Hz) in dBFS: most speech energy, a fraction of broadband noise.
    public var bandLevelDb: Double
    /// Spectral flatness of the speech band (geometric / arithmetic mean of power): near 0.5 for
    /// white noise, well under 0.2 for voiced speech.
    public var flatness: Double
    /// Peak normalized autocorrelation over pitch lags (50-400 Hz): near 1 for voiced speech.
    public var voicing: Double

    static let fft = FFT(size: 512)

    public static func measure(_ frame: [Float], sampleRate: Int = 16_000) -> FrameFeatures {
        var mean: Double = 0
        for x in frame { mean += Double(x) }
        mean /= Double(max(1, frame.count))
        var energy: Double = 0
        for x in frame { let d = Double(x) - mean; energy += d * d }
        let level = 10 * log10(max(energy / Double(max(1, frame.count)), 1e-10))
        if level < -90 { return FrameFeatures(levelDb: level, bandLevelDb: level, flatness: 1, voicing: 0) }

        let power = fft.powerSpectrum(frame, mean: Float(mean))
        let binHz = Double(sampleRate) / Double(fft.size)
        let lo = Int(250 / binHz), hi = Int(3500 / binHz)
        var band: Double = 0, logSum: Double = 0
        for k in lo...hi {
            band += power[k]
            logSum += log(max(power[k], 1e-20))
        }
        let bins = Double(hi - lo + 1)
        let flatness = exp(logSum / bins) / max(band / bins, 1e-20)
        // Parseval: the band's share of the frame energy, expressed as a level like `levelDb`.
        let total = power.reduce(0, +)
        let bandLevel = level + 10 * log10(max(band / max(total, 1e-20), 1e-10))
        return FrameFeatures(levelDb: level, bandLevelDb: bandLevel, flatness: flatness,
                             voicing: voicing(frame, mean: Float(mean), sampleRate: sampleRate))
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
            for lag in minLag...maxLag { best = max(best, normalizedAutocorrelation(p, lag: lag)) }
        }
        return Double(best)
    }

    /// Correlation of `x` with itself `lag` samples later, normalized by both parts' energy
    /// (0 for silence): near 1 when the signal repeats with that period.
    static func normalizedAutocorrelation(_ p: UnsafeBufferPointer<Float>, lag: Int) -> Float {
        var xy: Float = 0, xx: Float = 0, yy: Float = 0
        for i in 0..<(p.count - lag) {
            let a = p[i], b = p[i + lag]
            xy += a * b
            xx += a * a
            yy += b * b
        }
        let denom = (xx * yy).squareRoot()
        return denom > 1e-12 ? xy / denom : 0
    }
}
