import Foundation
import MicroturnAudio

/// How likely the user is done when their speech stops: a logistic model over the cues at the end
/// of the utterance (`TurnEndCues.Features.vector`). Its weights are fitted on generated dialogs by
/// `microturn bench fit-turns` (MicroturnSimulation's TurnEndFitting), which prints the `fitted` line below.
public struct TurnEndModel: Sendable, Equatable {
    public var bias: Double
    public var weights: [Double]

    public init(bias: Double, weights: [Double]) {
        self.bias = bias
        self.weights = weights
    }

    /// Log-odds that the turn is over at this stop.
    public func logit(_ features: TurnEndCues.Features) -> Double { logit(vector: features.vector) }

    public func logit(vector: [Double]) -> Double { zip(weights, vector).reduce(bias) { $0 + $1.0 * $1.1 } }

    /// Fitted on 32 dialogs x 12 turns: `microturn bench make-dialogs --out train --count 32 --turns 12
    /// --seed 9001 --pause-every 3 --command-every 7 --backchannel-every 0`, then `bench fit-turns --dialogs train`.
    public static let fitted = TurnEndModel(bias: -1.417, weights: [-1.254, -0.765, -0.388, 0.677, -0.272, -0.924, 2.046, -0.024, 0.178])
}
