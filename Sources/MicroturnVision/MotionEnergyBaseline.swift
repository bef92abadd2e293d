/// The plain way to count repetitions, as a peer in the bench: the energy of frame-to-frame
/// differences, smoothed, has a peak for each movement (down and up: two per repetition); count
/// the peaks that stand out and halve. Offline (it sees the whole clip) and blind to half-done
/// repetitions, pauses and other movement.
public struct MotionEnergyBaseline {
    private var previous: [UInt8] = []
    private var energy: [Float] = []
    private var times: [Double] = []

    public init() {}

    public mutating func process(_ frame: GreyFrame) {
        let f = frame.width > 160 ? frame.scaled(toWidth: 160, height: max(1, frame.height * 160 / frame.width)) : frame
        if previous.count == f.pixels.count {
            var sum = 0
            for i in f.pixels.indices { sum += abs(Int(f.pixels[i]) - Int(previous[i])) }
            energy.append(Float(sum) / Float(f.pixels.count))
            times.append(f.timestamp)
        }
        previous = f.pixels
    }

    /// Peaks of the smoothed energy above its mean plus half a standard deviation, at least
    /// 0.3 s apart, halved.
    public var count: Int {
        guard energy.count > 2 else { return 0 }
        var smooth = energy
        for i in 1..<smooth.count { smooth[i] = smooth[i - 1] + 0.3 * (energy[i] - smooth[i - 1]) }
        let mean = smooth.reduce(0, +) / Float(smooth.count)
        let sd = (smooth.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(smooth.count)).squareRoot()
        var peaks = 0, lastPeak = -Double.infinity
        for i in 1..<(smooth.count - 1) where smooth[i] > smooth[i - 1] && smooth[i] >= smooth[i + 1] && smooth[i] > mean + 0.5 * sd {
            if times[i] - lastPeak >= 0.3 {
                peaks += 1
                lastPeak = times[i]
            }
        }
        return (peaks + 1) / 2
    }
}
