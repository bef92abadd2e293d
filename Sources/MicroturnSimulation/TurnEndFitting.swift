import Foundation
import MicroturnAudio
import MicroturnInteraction

/// Fitting the turn-end model on generated dialogs (`microturn bench fit-turns`): bench and test
/// scaffolding, kept out of the runtime library.
extension TurnEndModel {
    /// Fits by gradient descent on the mean log loss, with a little L2 on the weights (the cues are
    /// correlated, and a handful of voices should not get extreme weights). Classes are weighted
    /// equally, however many of each there are.
    public static func fit(_ samples: [Sample], l2: Double = 0.01, steps: Int = 4000) -> TurnEndModel {
        let dims = samples.first?.features.count ?? 0
        var w = [Double](repeating: 0, count: dims), b = 0.0
        let positives = Double(samples.filter(\.ended).count), negatives = Double(samples.count) - positives
        guard positives > 0, negatives > 0 else { return TurnEndModel(bias: positives > 0 ? 5 : -5, weights: w) }
        let rate = 0.5
        for _ in 0..<steps {
            var gw = [Double](repeating: 0, count: dims), gb = 0.0
            for s in samples {
                let z = zip(w, s.features).reduce(b) { $0 + $1.0 * $1.1 }
                let p = 1 / (1 + exp(-z))
                let weight = s.ended ? 0.5 / positives : 0.5 / negatives
                let err = (p - (s.ended ? 1 : 0)) * weight
                for j in 0..<dims { gw[j] += err * s.features[j] }
                gb += err
            }
            for j in 0..<dims { w[j] -= rate * (gw[j] + l2 * w[j]) }
            b -= rate * gb
        }
        return TurnEndModel(bias: b, weights: w)
    }

    /// Training examples from one dialog: each stop in the user's speech that lasted long enough for
    /// the policy to decide on (`minSilence`), marked ended when it is at the annotated end of an
    /// utterance, not ended when speech of the same utterance follows (a pause or a long word gap).
    /// Stops outside any utterance (noise, echo) are left out.
    public static func samples(stops: [Session.Report.SpeechStop], labels: DialogLabels,
                               minSilence: Double = 0.14) -> [Sample] {
        stops.compactMap { stop in
            if let s = stop.silence, s < minSilence { return nil }
            guard let u = labels.utterances.first(where: { stop.time >= $0.start - 0.2 && stop.time <= $0.end + 0.3 }) else { return nil }
            return Sample(features: stop.cues.vector, ended: stop.time >= u.end - 0.15, silence: stop.silence, utterance: u)
        }
    }

    /// One labelled stop.
    public struct Sample: Sendable {
        public var features: [Double]
        public var ended: Bool
        /// How long the silence lasted, seconds (nil: until the turn was taken or the input ended).
        public var silence: Double?
        public var utterance: DialogLabels.Utterance
    }

    /// The model as a Swift line, for pasting over `fitted`.
    public var swiftLiteral: String {
        let ws = weights.map { String(format: "%.3f", $0) }.joined(separator: ", ")
        return String(format: "TurnEndModel(bias: %.3f, weights: [%@])", bias, ws)
    }

}
