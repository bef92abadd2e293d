/// One reading of the motion in the picture for `RepetitionCounter`: the pictures projected on
/// the direction they vary most lately (the first principal component, followed with Oja's rule
/// from one fixed start), and the repetitions and sets seen on that projection (the counter's
/// comment tells how). The counter keeps several, from different starts, and reports one's count.
final class ProjectionCounter {
    struct Repetition { let start: Double, end: Double, confidence: Double }

    let settings: RepetitionCounter.Settings
    private(set) var total = 0
    private(set) var inSet = false
    /// The period (for smoothing and for when a set has ended), from the projection's
    /// autocorrelation over the last ten seconds.
    private(set) var period = 2.0
    /// The latest repetitions (at most `kept`), the last one numbered `total`.
    private var recent: [Repetition] = []
    private static let kept = 64
    private let startMultiplier: Int
    private var direction: [Float] = []
    private var times: [Double] = []
    private var signal: [Float] = []
    private var lastPeriodUpdate = -Double.infinity
    private var tracker = SwingTracker()
    private var lastRepEnd = -Double.infinity
    /// Outside a set, the last swing, waiting for a second to confirm it.
    private var pending: Repetition?

    init(settings: RepetitionCounter.Settings, startMultiplier: Int) {
        self.settings = settings
        self.startMultiplier = startMultiplier
    }

    /// Repetition `number` (1-based), or the oldest kept if it is older.
    func repetition(_ number: Int) -> Repetition {
        recent[max(0, recent.count - (total - number) - 1)]
    }

    /// Pictures of a new size: the direction starts over. A fixed start keeps runs repeatable.
    func restart(pixels n: Int) {
        direction = (0..<n).map { Float(($0 * startMultiplier) % 17) - 8 }
        normalize(&direction)
    }

    /// A new scene: what was seen on the last one says nothing of this one.
    func cut() {
        times.removeAll()
        signal.removeAll()
        tracker = SwingTracker()
        pending = nil
        inSet = false
    }

    /// One picture `x` (smoothed, less the mean frame, weighted) at `t`; `history` holds the
    /// pictures of the last `historySeconds`, this one last.
    func step(_ x: [Float], at t: Double, dt: Double, history: [(time: Double, x: [Float])]) {
        // Oja's rule: w += eta * y * (x - y * w), the step scaled to the frame's energy.
        // On buffers: indexing the class's array checks exclusive access at run time, per pixel.
        var y: Float = 0, energy: Float = 0
        x.withUnsafeBufferPointer { x in
            direction.withUnsafeMutableBufferPointer { w in
                for i in x.indices { y += x[i] * w[i]; energy += x[i] * x[i] }
                if energy > 1e-6 {
                    let eta = Float(min(0.5, dt / 1.5)) / energy
                    for i in x.indices { w[i] += eta * y * (x[i] - y * w[i]) }
                }
            }
        }
        if energy > 1e-6 { normalize(&direction) }
        times.append(t)
        signal.append(y)
        let keep = Int(10 / dt)
        if times.count > keep + 60 {
            let drop = times.count - keep
            times.removeFirst(drop)
            signal.removeFirst(drop)
        }
        if t - lastPeriodUpdate >= 0.5 { updatePeriod(dt: dt, at: t) }
        let gap = max(settings.setGap, 2.5 * period)
        if let first = pending, t - first.end > gap { pending = nil }
        if let rep = tracker.step(y, at: t, dt: dt, period: period, partial: Float(settings.partialFraction)) {
            if inSet {
                count(rep.start, t, rep.confidence)
            } else if let first = pending, Self.alike(first.end - first.start, t - rep.start) {
                inSet = true
                pending = nil
                for r in earlierRepetitions(before: first.start, like: first.end - first.start, in: history) {
                    count(r.start, r.end, 0.5)
                }
                count(first.start, first.end, first.confidence)
                count(rep.start, t, rep.confidence)
            } else {
                pending = Repetition(start: rep.start, end: t, confidence: rep.confidence)
            }
        }
        if inSet && !tracker.away && t - lastRepEnd > gap { inSet = false }
    }

    /// A set's opening repetitions, missed as they happened: full swings like the set's before
    /// `start` (and after the last counted repetition), on the direction as it is now. Oja's rule
    /// may find the exerciser only after a set's first repetitions: a small figure far from the
    /// camera takes it seconds to turn to, and a short first set may be over by then. Returns the
    /// earlier sets found whole and the set's own opening, oldest first.
    private func earlierRepetitions(before start: Double, like length: Double,
                                    in history: [(time: Double, x: [Float])]) -> [(start: Double, end: Double)] {
        let frames = history.filter { $0.time < start && $0.time > lastRepEnd }
        guard frames.count > 2 else { return [] }
        var tracker = SwingTracker()
        var found: [(start: Double, end: Double)] = []
        var last = frames[0].time
        for (t, x) in frames {
            var y: Float = 0
            for i in x.indices { y += x[i] * direction[i] }
            if let rep = tracker.step(y, at: t, dt: max(1e-3, t - last), period: period, partial: Float(settings.partialFraction)),
               Self.alike(t - rep.start, length) {
                found.append((rep.start, t))
            }
            last = t
        }
        // Runs of swings, each ending within 1.5 periods of the next one's start (one swing
        // between them may have been too faint even now). The run that leads up to the set is its
        // opening; an earlier run is a set only if it is long enough: a walk into the picture
        // before the set, a light switched on, is one or two swings.
        var runs: [[(start: Double, end: Double)]] = []
        var next = start
        for r in found.reversed() {
            if runs.isEmpty || next - r.end > 1.5 * period || r.end > next + 0.2 { runs.insert([], at: 0) }
            runs[0].insert(r, at: 0)
            next = r.start
        }
        guard let lastRun = runs.last, let end = lastRun.last else { return [] }
        let leadsUp = start - end.end <= 1.5 * period && end.end <= start + 0.2
        let opening = leadsUp ? lastRun : []
        let earlier = leadsUp ? runs.dropLast() : runs[...]
        let missed = settings.missedSetSwings > 0 ? earlier.filter { $0.count >= settings.missedSetSwings } : []
        return missed.flatMap { $0 } + opening
    }

    private func count(_ start: Double, _ end: Double, _ confidence: Double) {
        total += 1
        lastRepEnd = end
        recent.append(Repetition(start: start, end: end, confidence: confidence))
        if recent.count > Self.kept { recent.removeFirst() }
    }

    /// Two swings of a like length, as the repetitions of a set are: one at most four times the
    /// other (a set's first swing is timed loosely, from when the picture began to change).
    static func alike(_ a: Double, _ b: Double) -> Bool { max(a, b) <= 4 * min(a, b) }

    private func normalize(_ v: inout [Float]) {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { for i in v.indices { v[i] /= norm } }
    }

    /// The period: the lag of the highest autocorrelation peak after its first dip (a smooth
    /// signal correlates best at the smallest lags, which says nothing about repetition).
    private func updatePeriod(dt: Double, at t: Double) {
        lastPeriodUpdate = t
        let minLag = max(2, Int(settings.minPeriod / dt)), maxLag = Int(settings.maxPeriod / dt)
        let lags = min(maxLag, signal.count * 2 / 3)
        guard lags > minLag + 1 else { return }
        let m = signal.reduce(0, +) / Float(signal.count)
        let x = signal.map { $0 - m }
        let energy = x.reduce(0) { $0 + $1 * $1 }
        guard energy > 1e-9 else { return }
        var r = [Float](repeating: 0, count: lags + 2)
        for lag in 1...(lags + 1) where lag < x.count {
            var s: Float = 0
            for i in lag..<x.count { s += x[i] * x[i - lag] }
            r[lag] = s / energy * Float(x.count) / Float(x.count - lag)
        }
        var lag = 1
        while lag < lags && r[lag + 1] < r[lag] { lag += 1 }
        var best: (score: Float, lag: Int) = (0.2, 0)
        for l in max(lag, minLag)...lags where r[l] >= r[l - 1] && r[l] >= r[l + 1] && r[l] > best.score { best = (r[l], l) }
        if best.lag > 0 { period = Double(best.lag) * dt }
    }
}
