import Foundation

/// Prosody at the end of what the user has said so far, for deciding whether they have finished:
/// a statement ends on a fall to low pitch and fading energy; a comma, an unfinished phrase or a
/// filler ("um", a held vowel on a level pitch) keeps the pitch up or level. Fed every 20 ms frame
/// of the cleaned microphone; `measure` reads the cues at the moment speech stops.
public final class TurnEndCues {
    /// What the end of the utterance sounded like. Pitch in semitones; a value that could not be
    /// measured (too little voicing) is 0, with `voicedEnd` saying how much there was.
    public struct Features: Sendable, Equatable, Codable {
        /// Pitch slope over the last 400 ms of speech, semitones per second (falling is negative).
        public var finalSlope: Double
        /// Pitch at the end relative to the speaker's median in this utterance, semitones.
        public var finalPitch: Double
        /// Length of the last stretch of voicing, seconds (a held filler is long).
        public var lastVoicedRun: Double
        /// Pitch spread over that stretch, semitones (a filler is level).
        public var lastRunSpread: Double
        /// Level of the last 100 ms of speech relative to the utterance's loud level, dB.
        public var finalLevel: Double
        /// Share of the last 200 ms of speech that was voiced.
        public var voicedEnd: Double
        /// Length of the utterance so far, seconds.
        public var duration: Double
        /// Final rise: the last pitch above the lowest of the last 300 ms, semitones.
        public var finalRise: Double
        /// Level slope over the last 200 ms of speech, dB per second (a fade is negative).
        public var levelSlope: Double

        /// The inputs of the turn-end model, each named beside its value so that a name and its
        /// place in `vector` cannot drift apart (`TurnEndModel` keeps its weights by these names).
        public var inputs: [(name: String, value: Double)] {
            [("final_slope", finalSlope / 10), ("final_pitch", finalPitch / 3), ("last_voiced_run", lastVoicedRun * 5),
             ("last_run_spread", lastRunSpread), ("final_level", finalLevel / 10), ("voiced_end", voicedEnd),
             ("log_duration", log(max(duration, 0.1))), ("final_rise", finalRise / 3), ("level_slope", levelSlope / 100)]
        }
        public var vector: [Double] { inputs.map(\.value) }
        public static let names = Features(finalSlope: 0, finalPitch: 0, lastVoicedRun: 0, lastRunSpread: 0, finalLevel: 0,
                                           voicedEnd: 0, duration: 0, finalRise: 0, levelSlope: 0).inputs.map(\.name)
    }

    struct Frame {
        var level: Double
        var pitch: Double?  // semitones above 55 Hz, nil when unvoiced
        var speech: Bool
    }

    private var frames: [Frame] = []
    private var previous = [Float](repeating: 0, count: 320)
    private var pitches: [Double] = []  // voiced frames of the utterance, for its median
    static let maxFrames = 50 * 20      // the last 20 s are plenty

    public init() {}

    /// Forgets the utterance (call when a new one starts).
    public func reset() {
        frames.removeAll(keepingCapacity: true)
        pitches.removeAll(keepingCapacity: true)
    }

    /// One 20 ms frame at 16 kHz, cleaned, with the VAD's decision for it.
    public func add(_ frame: [Float], isSpeech: Bool, levelDb: Double) {
        let pitch = isSpeech ? Self.pitch(previous + frame) : nil
        previous = frame
        frames.append(Frame(level: levelDb, pitch: pitch, speech: isSpeech))
        if let pitch { pitches.append(pitch) }
        if frames.count > Self.maxFrames { frames.removeFirst(frames.count - Self.maxFrames) }
        if pitches.count > Self.maxFrames { pitches.removeFirst(pitches.count - Self.maxFrames) }
    }

    /// The cues at the end of the last speech frame; nil before any speech.
    public func measure() -> Features? {
        guard let last = frames.lastIndex(where: \.speech) else { return nil }
        var speech = frames[...last].filter(\.speech)
        Self.dropPitchOutliers(&speech)
        let frameSeconds = 0.02
        let median = pitches.sorted()[safe: pitches.count / 2] ?? 0

        // Slope: least squares over the voiced frames of the last 400 ms of speech.
        let tail = speech.suffix(20)
        var points: [(Double, Double)] = []
        for (i, f) in tail.enumerated() { if let p = f.pitch { points.append((Double(i) * frameSeconds, p)) } }
        let slope = points.count >= 4 ? max(-60, min(60, Self.slope(points))) : 0
        let finalVoiced = tail.compactMap(\.pitch).suffix(3)
        let finalPitch = finalVoiced.isEmpty ? 0 : finalVoiced.reduce(0, +) / Double(finalVoiced.count) - median

        // The last stretch of voicing (gaps of one frame bridged), and how level its pitch is.
        var run: [Double] = []
        var gap = 0
        for f in speech.reversed() {
            if let p = f.pitch {
                run.append(p)
                gap = 0
            } else if !run.isEmpty {
                gap += 1
                if gap > 1 { break }
            }
        }
        var spread = 0.0
        if run.count >= 2 {
            let m = run.reduce(0, +) / Double(run.count)
            spread = (run.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(run.count)).squareRoot()
        }

        let levels = speech.map(\.level).sorted()
        let loud = levels[safe: Int(Double(levels.count) * 0.9)] ?? levels.last ?? 0
        let endLevels = speech.suffix(5).map(\.level)
        let finalLevel = endLevels.reduce(0, +) / Double(max(1, endLevels.count)) - loud
        let voicedEnd = Double(speech.suffix(10).filter { $0.pitch != nil }.count) / Double(max(1, min(10, speech.count)))
        let recent = speech.suffix(15).compactMap(\.pitch)
        let rise = recent.last.map { $0 - (recent.min() ?? $0) } ?? 0
        let fade = Self.slope(speech.suffix(10).enumerated().map { (Double($0.offset) * frameSeconds, $0.element.level) })

        return Features(finalSlope: slope, finalPitch: finalPitch, lastVoicedRun: Double(run.count) * frameSeconds,
                        lastRunSpread: spread, finalLevel: finalLevel, voicedEnd: voicedEnd,
                        duration: Double(speech.count) * frameSeconds, finalRise: rise, levelSlope: fade)
    }

    /// Least-squares slope of y over x (0 for fewer than two points).
    static func slope(_ points: [(Double, Double)]) -> Double {
        guard points.count >= 2 else { return 0 }
        let mx = points.map(\.0).reduce(0, +) / Double(points.count)
        let my = points.map(\.1).reduce(0, +) / Double(points.count)
        let sxy = points.reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sxx = points.reduce(0) { $0 + ($1.0 - mx) * ($1.0 - mx) }
        return sxx > 0 ? sxy / sxx : 0
    }

    /// A pitch more than 5 semitones away from both voiced neighbours is a tracking error (an
    /// octave jump, a burst of noise), not intonation: it is dropped.
    static func dropPitchOutliers(_ frames: inout [Frame]) {
        let original = frames.map(\.pitch)
        for i in frames.indices {
            guard let p = original[i] else { continue }
            let neighbours = [i - 1, i + 1].compactMap { original[safe: $0] ?? nil }
            if let nearest = neighbours.map({ abs($0 - p) }).min(), nearest > 5 { frames[i].pitch = nil }
        }
    }

    /// Pitch of a 40 ms window, semitones above 55 Hz, from the normalized autocorrelation on the
    /// window decimated to 8 kHz (lags for 66-400 Hz); nil when it is not clearly voiced. The
    /// shortest lag near the best is taken, so a period is not mistaken for its double.
    static func pitch(_ window: [Float]) -> Double? {
        let n = window.count / 2
        var x = [Float](repeating: 0, count: n)
        var mean: Float = 0
        for i in 0..<n { x[i] = (window[2 * i] + window[2 * i + 1]) * 0.5; mean += x[i] }
        mean /= Float(n)
        for i in 0..<n { x[i] -= mean }
        let minLag = 20, maxLag = min(120, n / 2)
        var r = [Float](repeating: 0, count: maxLag + 2)
        x.withUnsafeBufferPointer { p in
            for lag in minLag...(maxLag + 1) { r[lag] = FrameFeatures.normalizedAutocorrelation(p, lag: lag) }
        }
        guard let best = r[minLag...maxLag].max(), best >= 0.6 else { return nil }
        guard let lag = (minLag...maxLag).first(where: { r[$0] >= 0.9 * best && r[$0] >= r[$0 - 1] && r[$0] >= r[$0 + 1] }) else { return nil }
        // Parabolic interpolation around the peak.
        var fine = Double(lag)
        if lag > minLag {
            let a = Double(r[lag - 1]), b = Double(r[lag]), c = Double(r[lag + 1])
            let d = a - 2 * b + c
            if d < 0 { fine += 0.5 * (a - c) / d }
        }
        let hz = 8000 / fine
        return 12 * log2(hz / 55)
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { i >= 0 && i < count ? self[i] : nil }
}
