/// Full swings of a signal: it leaves the side where it rests (past a band around the middle of
/// its recent range) and comes back. Swings smaller than `partial` of the set's typical one are
/// half-done repetitions.
struct SwingTracker {
    private var smooth: Float = 0, primed = false
    private var recent: [(time: Double, value: Float)] = []
    private var swings: [Float] = []
    private var restSide: Float = 0  // +1 or -1
    private(set) var away = false
    private var peak: Float = 0, rest: Float = 0, leftAt = 0.0
    /// The largest range seen: swings far smaller than it are noise, not movement.
    private var scale: Float = 0
    /// Below this swing (in the projection's units: normalized pixels) nothing moved; it keeps
    /// the first second, before any movement has set the scale, from counting noise.
    static let stillness: Float = 0.5

    mutating func step(_ value: Float, at t: Double, dt: Double, period: Double, partial: Float) -> (start: Double, confidence: Double)? {
        if !primed { smooth = value; primed = true }
        smooth += Float(min(1, dt / min(period / 6, 0.25))) * (value - smooth)
        recent.append((t, smooth))
        let span = max(2 * period, 1.5)
        if let first = recent.firstIndex(where: { t - $0.time <= span }), first > 0 { recent.removeFirst(first) }
        var hi = -Float.infinity, lo = Float.infinity
        for r in recent { hi = max(hi, r.value); lo = min(lo, r.value) }
        scale = max(scale * Float(1 - min(1, dt / 30)), hi - lo)
        let typical = swings.isEmpty ? 0 : swings.sorted()[swings.count / 2]
        let floor = max(0.25 * scale, Self.stillness)
        let band = max(0.2 * (hi - lo), 0.3 * typical, 0.5 * floor), mid = (hi + lo) / 2
        guard hi - lo >= floor, scale > 0 else { return nil }
        if restSide == 0 {
            // The first real excursion shows which side is rest: the one it left.
            restSide = smooth > mid ? -1 : 1
            rest = restSide > 0 ? hi : lo
            return nil
        }
        let offset = (smooth - mid) * restSide  // > 0 on the rest side
        if !away {
            rest = restSide > 0 ? max(rest, smooth) : min(rest, smooth)
            if offset < -band {
                away = true
                peak = smooth
                leftAt = recent.last(where: { ($0.value - mid) * restSide > 0 })?.time ?? t
            }
            return nil
        }
        peak = restSide > 0 ? min(peak, smooth) : max(peak, smooth)
        guard offset > band else { return nil }
        away = false
        let swing = abs(rest - peak)
        rest = smooth
        // Too small (a half-done repetition, noise) or too quick to be a repetition.
        guard swing >= floor, typical == 0 || swing >= partial * typical, t - leftAt >= 0.3 else { return nil }
        swings.append(swing)
        if swings.count > 8 { swings.removeFirst() }
        return (leftAt, typical == 0 ? 0.5 : Double(min(1, swing / typical)))
    }
}
