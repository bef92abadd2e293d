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
/// Where the exerciser and something else move about as much, which of them Oja's rule settles on,
/// and how soon, depends on the direction it starts from; so the projection and what is counted on
/// it (`ProjectionCounter`) are kept for several fixed starts, and the count is one of theirs
/// (`Settings.countRank`).
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
        /// Oja's start directions (pixel i starts at `(i * multiplier) % 17 - 8`), one projection
        /// each (`ProjectionCounter`), and which of their counts is the count: the
        /// `countRank`-th highest, by default (nil) the median. One start alone counted the tuning clips
        /// within one in 124-158 of 174, by which start; these nine (the primes from 7907), 157 by
        /// their median (any nine of eleven starts: 150-159), for 0.1 ms a frame more. Their third
        /// highest count did better there (167: a projection that has settled on a person walking
        /// by counts too few), but on a still test pattern with a block of it changed, four of the
        /// nine count three or four swings of the mean frame catching up: a count above the
        /// median takes such a change for exercise.
        public var startMultipliers = [7907, 7919, 7927, 7933, 7937, 7949, 7951, 7963, 7993]
        public var countRank: Int?
        public init() {}
    }

    public let settings: Settings
    public private(set) var total = 0
    public private(set) var inSet = false

    static let width = 40, height = 30
    private var mean: [Float] = []
    /// The pictures the projection was taken from (smoothed, less the mean frame, weighted), for
    /// the last `historySeconds`: when a set starts, the repetitions before it are looked for
    /// again on the direction found by then.
    private var history: [(time: Double, x: [Float])] = []
    private var lastTime: Double?
    private let projections: [ProjectionCounter]
    /// The reported set's count, and its last repetition.
    private var setCount = 0, lastRepStart = -Double.infinity, lastRepEnd = -Double.infinity
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

    public init(settings: Settings = Settings()) {
        precondition(!settings.startMultipliers.isEmpty && (1...settings.startMultipliers.count).contains(settings.countRank ?? 1),
                     "countRank is one of the projections (1: the highest count)")
        self.settings = settings
        projections = settings.startMultipliers.map { ProjectionCounter(settings: settings, startMultiplier: $0) }
    }

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
        let dt = lastTime.map { max(1e-3, t - $0) } ?? 1.0 / 30
        lastTime = t
        var events: [RepetitionEvent] = []
        var cut = false
        if mean.count != n {  // the first frame (or one of another size, from another camera)
            mean = x
            forgetChanges(pixels: n)
            history.removeAll()  // pictures of another size
            for p in projections { p.restart(pixels: n) }
        } else if Self.isCut(from: previous, to: x) {
            // A new picture (the camera moved, a light was switched, a video began): the mean
            // frame starts over from it, or for seconds the difference between the two scenes
            // would be the largest thing "moving" and hide the exercise.
            cut = true
            mean = x
            forgetChanges(pixels: n)
            history.removeAll()
            for p in projections { p.cut() }
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
        // (`weight` and `slowness` are inlined: called, they keep the loop's every access to
        // the arrays checked for exclusivity at run time, a third of the counter's time.)
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
        if settings.historySeconds > 0 {
            history.append((t, x))
            if let first = history.firstIndex(where: { t - $0.time <= settings.historySeconds }), first > 0 { history.removeFirst(first) }
        }
        for p in projections { p.step(x, at: t, dt: dt, history: history) }
        return events + vote(at: t)
    }

    /// The count is the projections' `countRank`-th highest: a repetition is reported when that
    /// count comes to it, as the projection with that count saw it. A set ends when fewer than
    /// `countRank` projections are in one, or when a repetition comes after a set's gap (an
    /// earlier set counted late, whole).
    private func vote(at t: Double) -> [RepetitionEvent] {
        let rank = settings.countRank ?? (projections.count + 1) / 2
        let chosen = projections.sorted { $0.total > $1.total }[rank - 1]
        var events: [RepetitionEvent] = []
        while total < chosen.total {
            let rep = chosen.repetition(total + 1)
            if inSet && rep.start - lastRepEnd > max(settings.setGap, 2.5 * chosen.period) {
                inSet = false
                events.append(.setEnd(time: lastRepEnd, count: setCount))
            }
            // In the order they came: projections time a repetition a little differently.
            let start = max(rep.start, lastRepStart), end = max(rep.end, start)
            if !inSet {
                inSet = true
                setCount = 0
                events.append(.setStart(time: start))
            }
            total += 1
            setCount += 1
            lastRepStart = start
            lastRepEnd = end
            events.append(.repetition(number: total, start: start, end: end, confidence: rep.confidence))
        }
        if inSet && projections.count(where: \.inSet) < rank {
            inSet = false
            events.append(.setEnd(time: t, count: setCount))
        }
        return events
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
    @inline(__always) private func weight(_ i: Int) -> Float {
        let d2 = change2[i]
        guard d2 > 1e-6 else { return 1 }
        let kurtosis = change4[i] * changeFill / (d2 * d2)
        let k = Float(settings.jumpKurtosis)
        return min(1, max(0, (2 * k - kurtosis) / k))
    }

    /// How much pixel `i` counts by how slow its changes are: 1 while at most `fastShareFrom` of
    /// their energy is fast, falling to 0 at `fastShareTo`.
    @inline(__always) private func slowness(_ i: Int) -> Float {
        let total = fast2[i] + slow2[i]
        guard total > 1e-6 else { return 1 }
        let share = fast2[i] / total
        let from = Float(settings.fastShareFrom), to = Float(settings.fastShareTo)
        return min(1, max(0, (to - share) / (to - from)))
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

    /// The stream ended: closes an open set.
    public func finish() -> [RepetitionEvent] {
        guard inSet else { return [] }
        inSet = false
        return [.setEnd(time: lastTime ?? 0, count: setCount)]
    }
}
