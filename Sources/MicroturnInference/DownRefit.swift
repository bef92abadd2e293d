import Foundation

/// A subset's down projections refitted so the experts it keeps stand in for those it drops: per
/// layer, the matrix from the kept neurons' activations to the block's output that best
/// reproduces the dense block's output on a text (least squares with a small ridge), from the
/// dense model's activations on it. Dropping half the neurons of a SwiGLU block loses half its
/// output; much of what they gave is correlated with what the kept ones do, and the refit moves it
/// onto them.
public enum DownRefit {
    /// Per layer, width rows x kept-neuron columns (row-major), the columns in the order of
    /// `kept[layer]` (the dense neuron indices).
    public static func fit(_ s: MoEfication.Samples, kept: [[Int]], progress: (Int, Int) -> Void = { _, _ in }) throws -> [[Float]] {
        let n = s.tokens, w = s.width, ff = s.hiddenWidth
        return try kept.enumerated().map { layer, neurons in
            let k = neurons.count
            var h = [Float](repeating: 0, count: n * k)
            for t in 0..<n { for (i, j) in neurons.enumerated() { h[t * k + i] = s.hidden[layer][t * ff + j] } }
            guard let cross = MoEfication.ridgeSolve(h, rows: n, columns: k, targets: s.outputs[layer], outputs: w, floor: 1e-9) else {
                throw MoEfication.Failure(description: "layer \(layer): the refit is singular (too little text); give a longer text")
            }
            progress(layer + 1, kept.count)
            return cross.map { Float($0) }
        }
    }
}
