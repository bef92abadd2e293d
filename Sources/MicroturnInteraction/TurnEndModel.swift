import Foundation
import MicroturnAudio

/// How likely the user is done when their speech stops: a logistic model over the cues at the end
/// of the utterance (`TurnEndCues.Features.vector`). Its weights are fitted on generated dialogs by
/// `microturn bench fit-turns` (MicroturnSimulation's TurnEndFitting), which prints the `fitted` line below.
public struct TurnEndModel: Sendable, Equatable {
    public var bias: Double
    /// One weight per input, in the order of `TurnEndCues.Features.names`.
    public var weights: [Double]

    public init(bias: Double, weights: [Double]) {
        self.bias = bias
        self.weights = weights
    }

    /// Weights given by input name, as `fitted` is written: a weight for an input the features no
    /// longer have, or an input left without a weight, stops the program at its first use (and the
    /// tests) instead of weighing one cue with another's weight.
    public init(bias: Double, named: KeyValuePairs<String, Double>) {
        let byName = Dictionary(named.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let names = TurnEndCues.Features.names
        precondition(named.count == names.count && Set(byName.keys) == Set(names),
                     "TurnEndModel's weights are for \(named.map(\.key)), the features are \(names): refit with `microturn bench fit-turns`")
        self.init(bias: bias, weights: names.map { byName[$0]! })
    }

    /// Log-odds that the turn is over at this stop.
    public func logit(_ features: TurnEndCues.Features) -> Double { logit(vector: features.vector) }

    public func logit(vector: [Double]) -> Double { zip(weights, vector).reduce(bias) { $0 + $1.0 * $1.1 } }

    /// Fitted on the stops in training/turn-end-stops.csv (the training material: voice families,
    /// pitches, rates and sentences that the held-out material does not have), made by
    /// `microturn bench make-dialogs --material training --out train --count 32 --turns 10 --seed 9001
    /// --pause-every 2 --command-every 7 --backchannel-every 0`, then
    /// `bench fit-turns --dialogs train --samples-csv training/turn-end-stops.csv`. TurnEndFitTests
    /// checks that the stops give these weights and that the first dialog gives those stops.
    public static let fitted = TurnEndModel(bias: -1.694, named: [
        "final_slope": -0.837, "final_pitch": -0.094, "last_voiced_run": -0.088, "last_run_spread": 0.305, "final_level": -0.943,
        "voiced_end": -0.730, "log_duration": 0.735, "final_rise": 0.009, "level_slope": 0.001])
}
