import Foundation
import MicroturnCore

/// Picks the next token from logits: greedy, or temperature with top-k, top-p (nucleus) and min-p
/// filters, after a repetition penalty on recent tokens; seeded, so a run can be repeated.
public struct Sampler: Sendable {
    public struct Settings: Sendable, Equatable {
        /// 0: greedy (the filters and the seed do not matter).
        public var temperature: Float = 0
        /// Keep the k most likely (0: all).
        public var topK = 0
        /// Keep the most likely whose probabilities add up to p (1: all).
        public var topP: Float = 1
        /// Drop tokens less likely than this fraction of the most likely one (0: none).
        public var minP: Float = 0
        /// Divide positive logits of recently seen tokens by this (multiply negative ones); 1: off.
        public var repetitionPenalty: Float = 1
        /// How many recent tokens the penalty looks at.
        public var penaltyWindow = 64
        public var seed: UInt64 = 0

        public init() {}
    }

    public let settings: Settings
    private var random: SplitMix64

    public init(_ settings: Settings) {
        self.settings = settings
        random = SplitMix64(seed: settings.seed &+ 0x9E37_79B9_7F4A_7C15)
    }

    /// A uniform number in [0, 1).
    mutating func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }

    /// The index of the largest logit, the lowest on ties (a plain loop: it runs once per token
    /// over the whole vocabulary).
    public static func argmax(_ logits: [Float]) -> Int {
        logits.withUnsafeBufferPointer { l in
            var best = 0
            for i in l.indices where l[i] > l[best] { best = i }
            return best
        }
    }

    public mutating func next(_ logits: [Float], history: [Int] = []) -> Int {
        var l = logits
        let s = settings
        if s.repetitionPenalty != 1 {
            for t in Set(history.suffix(s.penaltyWindow)) where t >= 0 && t < l.count {
                l[t] = l[t] > 0 ? l[t] / s.repetitionPenalty : l[t] * s.repetitionPenalty
            }
        }
        if s.temperature <= 0 { return Self.argmax(l) }
        // Candidates by logit, best first; the filters cut the list.
        var order = l.indices.sorted { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }
        if s.topK > 0 && s.topK < order.count { order.removeLast(order.count - s.topK) }
        let best = l[order[0]]
        var probs = order.map { Double(exp((l[$0] - best) / s.temperature)) }
        if s.minP > 0 {
            let keep = probs.firstIndex { $0 < Double(s.minP) } ?? probs.count  // probs[0] is 1: relative already
            order.removeLast(order.count - max(1, keep))
            probs.removeLast(probs.count - max(1, keep))
        }
        var total = probs.reduce(0, +)
        if s.topP < 1 {
            var sum = 0.0, keep = probs.count
            for (i, p) in probs.enumerated() {
                sum += p / total
                if sum >= Double(s.topP) { keep = i + 1; break }
            }
            order.removeLast(order.count - keep)
            probs.removeLast(probs.count - keep)
            total = probs.reduce(0, +)
        }
        var r = uniform() * total
        for (i, p) in probs.enumerated() {
            r -= p
            if r < 0 { return order[i] }
        }
        return order[order.count - 1]
    }
}
