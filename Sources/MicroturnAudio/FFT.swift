import Foundation

/// A radix-2 real-input FFT for power spectra of short frames (Hann-windowed, zero-padded).
public struct FFT: Sendable {
    public let size: Int
    private let cosTable: [Double]
    private let sinTable: [Double]
    private let bitReverse: [Int]

    public init(size: Int) {
        precondition(size > 1 && size & (size - 1) == 0, "FFT size must be a power of two")
        self.size = size
        cosTable = (0..<size / 2).map { cos(-2 * Double.pi * Double($0) / Double(size)) }
        sinTable = (0..<size / 2).map { sin(-2 * Double.pi * Double($0) / Double(size)) }
        let bits = size.trailingZeroBitCount
        bitReverse = (0..<size).map { i in
            var r = 0
            for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return r
        }
    }

    /// |X[k]|^2 for k in 0...size/2 of the Hann-windowed frame (minus `mean`), zero-padded to `size`.
    public func powerSpectrum(_ frame: [Float], mean: Float) -> [Double] {
        var re = [Double](repeating: 0, count: size)
        var im = [Double](repeating: 0, count: size)
        let n = min(frame.count, size)
        for i in 0..<n {
            let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(n - 1))
            re[bitReverse[i]] = Double(frame[i] - mean) * w
        }
        var len = 2
        while len <= size {
            let half = len / 2, step = size / len
            for start in stride(from: 0, to: size, by: len) {
                for k in 0..<half {
                    let c = cosTable[k * step], s = sinTable[k * step]
                    let a = start + k, b = a + half
                    let tr = re[b] * c - im[b] * s
                    let ti = re[b] * s + im[b] * c
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                }
            }
            len *= 2
        }
        return (0...size / 2).map { re[$0] * re[$0] + im[$0] * im[$0] }
    }
}
