/// What the counter reports as it goes.
public enum RepetitionEvent: Sendable, Equatable {
    /// A set began (its first full repetition started at `time`).
    case setStart(time: Double)
    /// A full repetition: its number in the total, when it started and ended, and how sure the
    /// counter is (its size against the set's typical one, at most 1).
    case repetition(number: Int, start: Double, end: Double, confidence: Double)
    /// A set ended: no repetition for a while (or the stream ended), with its count.
    case setEnd(time: Double, count: Int)
}

/// Counts repetitions online from the motion in the picture, on a 40x30 grey copy of each frame.
///
/// Each frame is normalized (zero mean, unit spread: lighting drifts away), low-passed per pixel
/// (a repetition is slower than a scrolling ticker or flicker), and its difference from a running
/// mean frame is projected on the direction the pictures vary most lately (the first principal
/// component, followed with Oja's rule): a person exercising is the largest moving thing in view,
/// so the projection swings once per repetition, in proportion to the pose. Pixels whose changes
/// come as jumps (an on-screen clock's digits) count less, down to nothing, and do not set the
/// normalization, so a display beside the exerciser neither steers nor rescales the picture; pixels
/// whose changes are mostly faster than a repetition (a scrolling ticker) count less too. (A
/// picture the same as the last, pixel for pixel, a capture chain's repeat, tells nothing of how
/// pixels change and is left out of both measures.) On it,
/// smoothed, a repetition is a full swing: away from the side where it rests, past a band around
/// the middle of its recent range, and back (smoothed over at most a quarter second: a period
/// estimate still long from a pause must not smooth the next set's faster swings away). A swing smaller than `partialFraction` of the set's
/// typical one is a half-done repetition and is not counted. The period (for smoothing and for
/// when a set has ended) comes from the projection's autocorrelation over the last ten seconds.
/// A set starts only when a second swing of a like length follows the first (both are counted
/// then): one swing alone is a change in the picture (something moved once, a light went on, a
/// clock on a screen ticked over), not exercise. When a set starts, the last 15 s of pictures are
/// projected again on the direction found by then, and the swings just before the set that were
/// too faint to count as they happened are counted at once (a small movement far from the camera:
/// the direction turns to it only after some repetitions), as is an earlier short set there that
/// was missed whole (at least `missedSetSwings` like swings, before a pause).
public final class RepetitionCounter {
    public struct Settings: Sendable {
        public var minPeriod = 0.6, maxPeriod = 5.0
        /// Seconds the mean frame takes to follow a change.
        public var meanSeconds = 4.0
        public var partialFraction = 0.5
        /// A set ends after this long without a repetition (or 2.5 periods, if longer).
        public var setGap = 3.0
        /// Seconds over which a pixel's changes are weighed (`weight`), and the kurtosis of its
        /// change above which it starts to count less (at twice this, not at all).
        public var changeSeconds = 8.0
        public var jumpKurtosis = 20.0
        /// A pixel counts less as more of its changes' energy is fast (what the smoothing takes
        /// out: a scrolling ticker, flicker, noise): fully up to `fastShareFrom` of it, not at all
        /// from `fastShareTo`. (A body moving at a 2 s period puts about 40 % of a pixel's energy
        /// there; a ticker passing every 0.45 s, 80-95 %.) Tuned on the hard clips of seed 1.
        public var fastShareFrom = 0.6, fastShareTo = 0.95
        /// Time constant of each of the two smoothing stages.
        public var smoothSeconds = 0.12
        /// How far back a set's opening repetitions are looked for once it has started (0: not):
        /// far enough to hold a short set before a pause too (the direction may turn to a small
        /// movement only in the second set). 15 s of 40x30 pictures at 30 fps take 2.2 MB.
        public var historySeconds = 15.0
        /// A run of at least this many like swings in those pictures, apart from the set's opening
        /// (a pause between), is an earlier set missed whole, and is counted as one (0: not).
        public var missedSetSwings = 3
        public init() {}
    }

    public let settings: Settings
    public private(set) var total = 0
    public private(set) var inSet = false

    static let width = 40, height = 30
    private var mean: [Float] = []
    private var direction: [Float] = []
    /// The pictures the projection was taken from (smoothed, less the mean frame, weighted), for
    /// the last `historySeconds`: when a set starts, the repetitions before it are looked for
    /// again on the direction found by then.
    private var history: [(time: Double, x: [Float])] = []
    private var times: [Double] = []
    private var signal: [Float] = []
    private var lastPeriodUpdate = -Double.infinity
    private var period = 2.0
    private var tracker = SwingTracker()
    private var setCount = 0, lastRepEnd = -Double.infinity
    /// Outside a set, the last swing, waiting for a second to confirm it.
    private var pending: (start: Double, end: Double, confidence: Double)?
    /// The last frame, normalized, to tell a cut from movement.
    private var previous: [Float] = []
    /// The last frame as it came, at 40x30: the next one the same is a repeat.
    private var lastPixels: [UInt8] = []
    /// Per pixel, running means of the squared and fourth power of its change from frame to frame:
    /// their ratio (the change's kurtosis) tells a picture that jumps (a display's digits, a
    /// switched light) from a body that moves through a pixel over several frames.
    private var change2: [Float] = [], change4: [Float] = []
    /// How much of the running means is filled (they start from 0): their bias, to divide out.
    private var changeFill: Float = 0
    /// Each pixel's weight (`weight`), as of the last frame.
    private var weights: [Float] = []
    /// Each pixel, low-passed twice.
    private var smoothed: [Float] = [], smoothed2: [Float] = []
    /// Per pixel, running means of the squared fast part of its changes (the frame less its
    /// low-passed self) and of the squared slow part (the low-passed frame less the mean frame).
    private var fast2: [Float] = [], slow2: [Float] = []

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// Feeds one frame (any size); returns what happened.
    public func process(_ input: GreyFrame) -> [RepetitionEvent] {
        let f = input.scaled(toWidth: min(Self.width, input.width), height: min(Self.height, input.height))
        let t = f.timestamp, n = f.pixels.count
        var x = f.pixels.map(Float.init)
        // The level and spread of the pixels that count (last frame's weights): a display that
        // jumps must not rescale the whole picture each time it does.
        if weights.count != n { weights = [Float](repeating: 1, count: n) }
        let total = max(1, weights.reduce(0, +))
        var m: Float = 0
        for i in 0..<n { m += weights[i] * x[i] }
        m /= total
        var variance: Float = 0
        for i in 0..<n { variance += weights[i] * (x[i] - m) * (x[i] - m) }
        // Spread at least 16 grey levels: a flat picture (a covered lens, a dark room) keeps its
        // noise small instead of having it blown up to the size of a scene.
        let spread = max(16, (variance / total).squareRoot())
        for i in 0..<n { x[i] = (x[i] - m) / spread }
        let dt = times.last.map { max(1e-3, t - $0) } ?? 1.0 / 30
        var events: [RepetitionEvent] = []
        var cut = false
        if mean.count != n {  // the first frame (or one of another size, from another camera)
            mean = x
            forgetChanges(pixels: n)
            history.removeAll()  // pictures of another size
            // A fixed start keeps runs repeatable. It is not neutral: the first seconds are counted
            // on it, and other multipliers count the held-out clips within one in 0.69-0.82
            // against this one's 0.91 (README: the counter's figures and what they owe to it).
            direction = (0..<n).map { Float(($0 * 7919) % 17) - 8 }
            normalize(&direction)
        } else if Self.isCut(from: previous, to: x) {
            // A new picture (the camera moved, a light was switched, a video began): the mean
            // frame starts over from it, or for seconds the difference between the two scenes
            // would be the largest thing "moving" and hide the exercise.
            cut = true
            mean = x
            forgetChanges(pixels: n)
            times.removeAll()
            signal.removeAll()
            history.removeAll()
            tracker = SwingTracker()
            pending = nil
            if inSet {
                inSet = false
                events.append(.setEnd(time: t, count: setCount))
            }
        }
        // A frame the same as the last, pixel for pixel, is that picture again (a capture chain
        // filling its rate: a 30 fps source on a 60 Hz HDMI link): it says nothing of how pixels
        // change, and taken for "no change" it would make every moving pixel seem to jump.
        let repeated = !cut && f.pixels == lastPixels
        lastPixels = f.pixels
        let changeRate = repeated ? 0 : Float(min(1, dt / settings.changeSeconds))
        if previous.count == n && !cut && !repeated {
            changeFill += changeRate * (1 - changeFill)
            for i in 0..<n {
                let d2 = (x[i] - previous[i]) * (x[i] - previous[i])
                change2[i] += changeRate * (d2 - change2[i])
                change4[i] += changeRate * (d2 * d2 - change4[i])
            }
        }
        previous = x
        let rate = Float(min(1, dt / settings.meanSeconds))
        // Two stages of smoothing (a low pass at about 1.3 Hz): a repetition takes at least
        // `minPeriod`, and faster things (a scrolling ticker, flicker, noise) must not steer.
        let smooth = Float(min(1, dt / settings.smoothSeconds))
        if smoothed.count != n || cut {
            smoothed = x
            smoothed2 = x
            fast2 = [Float](repeating: 0, count: n)
            slow2 = [Float](repeating: 0, count: n)
        }
        for i in 0..<n {
            weights[i] = weight(i)
            smoothed[i] += smooth * (x[i] - smoothed[i])
            smoothed2[i] += smooth * (smoothed[i] - smoothed2[i])
            mean[i] += rate * (smoothed2[i] - mean[i])
            let fast = x[i] - smoothed2[i], slow = smoothed2[i] - mean[i]
            fast2[i] += changeRate * (fast * fast - fast2[i])
            slow2[i] += changeRate * (slow * slow - slow2[i])
            x[i] = slow * weights[i] * slowness(i)
        }
        // Oja's rule: w += eta * y * (x - y * w), the step scaled to the frame's energy.
        var y: Float = 0, energy: Float = 0
        for i in 0..<n { y += x[i] * direction[i]; energy += x[i] * x[i] }
        if energy > 1e-6 {
            let eta = Float(min(0.5, dt / 1.5)) / energy
            for i in 0..<n { direction[i] += eta * y * (x[i] - y * direction[i]) }
            normalize(&direction)
        }
        times.append(t)
        signal.append(y)
        if settings.historySeconds > 0 {
            history.append((t, x))
            if let first = history.firstIndex(where: { t - $0.time <= settings.historySeconds }), first > 0 { history.removeFirst(first) }
        }
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
                events.append(count(rep.start, t, rep.confidence))
            } else if let first = pending, Self.alike(first.end - first.start, t - rep.start) {
                inSet = true
                pending = nil
                let (missed, opening) = earlierRepetitions(before: first.start, like: first.end - first.start)
                for set in missed {
                    events.append(.setStart(time: set[0].start))
                    setCount = 0
                    for r in set { events.append(count(r.start, r.end, 0.5)) }
                    events.append(.setEnd(time: set[set.count - 1].end, count: setCount))
                }
                setCount = 0
                events.append(.setStart(time: opening.first?.start ?? first.start))
                for r in opening { events.append(count(r.start, r.end, 0.5)) }
                events.append(count(first.start, first.end, first.confidence))
                events.append(count(rep.start, t, rep.confidence))
            } else {
                pending = (rep.start, t, rep.confidence)
            }
        }
        if inSet && !tracker.away && t - lastRepEnd > gap {
            inSet = false
            events.append(.setEnd(time: t, count: setCount))
        }
        return events
    }

    /// A set's opening repetitions, missed as they happened: full swings like the set's before
    /// `start` (and after the last counted repetition), on the direction as it is now. Oja's rule
    /// may find the exerciser only after a set's first repetitions: a small figure far from the
    /// camera takes it seconds to turn to, and a short first set may be over by then. Returns the
    /// earlier sets found whole (oldest first) and the set's own opening.
    private func earlierRepetitions(before start: Double, like length: Double)
        -> (missed: [[(start: Double, end: Double)]], opening: [(start: Double, end: Double)]) {
        let frames = history.filter { $0.time < start && $0.time > lastRepEnd }
        guard frames.count > 2 else { return ([], []) }
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
        guard let lastRun = runs.last, let end = lastRun.last else { return ([], []) }
        let leadsUp = start - end.end <= 1.5 * period && end.end <= start + 0.2
        let opening = leadsUp ? lastRun : []
        let earlier = leadsUp ? runs.dropLast() : runs[...]
        let missed = settings.missedSetSwings > 0 ? earlier.filter { $0.count >= settings.missedSetSwings } : []
        return (Array(missed), opening)
    }

    /// A new picture: every pixel counts fully until its changes say otherwise.
    private func forgetChanges(pixels n: Int) {
        change2 = [Float](repeating: 0, count: n)
        change4 = [Float](repeating: 0, count: n)
        changeFill = 0
        weights = [Float](repeating: 1, count: n)
    }

    /// How much pixel `i` counts: 1 while its changes are spread over frames (noise has a
    /// kurtosis of 3, a limb passing through a pixel under `jumpKurtosis`: up to about 18 at 15
    /// fps), falling to 0 as they come as jumps (a display's digits, changing once a second, about
    /// 60 at 30 fps; at 15 fps about 30, which still counts half).
    private func weight(_ i: Int) -> Float {
        let d2 = change2[i]
        guard d2 > 1e-6 else { return 1 }
        let kurtosis = change4[i] * changeFill / (d2 * d2)
        let k = Float(settings.jumpKurtosis)
        return min(1, max(0, (2 * k - kurtosis) / k))
    }

    /// How much pixel `i` counts by how slow its changes are: 1 while at most `fastShareFrom` of
    /// their energy is fast, falling to 0 at `fastShareTo`.
    private func slowness(_ i: Int) -> Float {
        let total = fast2[i] + slow2[i]
        guard total > 1e-6 else { return 1 }
        let share = fast2[i] / total
        let from = Float(settings.fastShareFrom), to = Float(settings.fastShareTo)
        return min(1, max(0, (to - share) / (to - from)))
    }

    private func count(_ start: Double, _ end: Double, _ confidence: Double) -> RepetitionEvent {
        total += 1
        setCount += 1
        lastRepEnd = end
        return .repetition(number: total, start: start, end: end, confidence: confidence)
    }

    /// A cut: consecutive normalized frames differ by more than 1.2 a pixel (mean square), over
    /// most of the picture (over 40 % of its pixels change by more than 0.5). Two unrelated
    /// pictures differ by about 2; a person moving, even fast and large at 15 frames a second, by
    /// under 0.8 (at most 0.74 over the generated clips, 60, 30 and 15 fps). A display over a
    /// quarter of the picture whose digits jump can differ by more, but only there.
    static func isCut(from a: [Float], to b: [Float]) -> Bool {
        guard a.count == b.count, !a.isEmpty else { return false }
        var d: Float = 0
        var changed = 0
        for i in a.indices {
            let e = (b[i] - a[i]) * (b[i] - a[i])
            d += e
            if e > 0.25 { changed += 1 }
        }
        return d / Float(a.count) > 1.2 && Float(changed) > 0.4 * Float(a.count)
    }

    /// Two swings of a like length, as the repetitions of a set are: one at most four times the
    /// other (a set's first swing is timed loosely, from when the picture began to change).
    static func alike(_ a: Double, _ b: Double) -> Bool { max(a, b) <= 4 * min(a, b) }

    /// The stream ended: closes an open set.
    public func finish() -> [RepetitionEvent] {
        guard inSet else { return [] }
        inSet = false
        return [.setEnd(time: times.last ?? 0, count: setCount)]
    }

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
