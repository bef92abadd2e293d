import CMicroturnKernels
import Foundation
import MicroturnCore

/// MoEfication (Zhang et al., 2022) of a dense SwiGLU model: each layer's feed-forward neurons
/// are split into experts of neurons that fire together on a corpus, and each layer gets a router
/// that predicts, from the block's input, which experts matter for a token. The result is written
/// as a Mixtral-form MoE (architecture llama with experts), which llama.cpp loads.
///
/// Why the numbers come out equal: in that form a token's output is the sum over its top k
/// experts of softmax weight (renormalized over the k) times the expert's output. The router's
/// logits are scaled so close together that the k weights are all 1/k up to a fraction of a
/// percent (the ranking, which is all the router has to get right, is unchanged by the scale),
/// and each expert's down projection is multiplied by k. With every expert active and a router of
/// zeros, the MoE computes exactly the dense block's sum, in another order.
public enum MoEfication {
    public enum Router: String, Sendable, CaseIterable {
        /// Ridge regression from the block's input to each expert's log share of the layer's
        /// activation (its neurons' |activation| times their down column's norm).
        case fitted
        /// All logits zero: with every expert used, the dense model exactly.
        case uniform
    }

    public struct Options: Sendable {
        public var experts: Int
        public var used: Int
        public var router: Router
        public var seed: UInt64
        /// Corpus tokens whose activations are kept for clustering and fitting.
        public var sampleTokens: Int
        /// Tokens per chunk the corpus is read in (each from an empty cache).
        public var context: Int

        public init(experts: Int, used: Int, router: Router = .fitted, seed: UInt64 = 1, sampleTokens: Int = 4096, context: Int = 256) {
            self.experts = experts
            self.used = used
            self.router = router
            self.seed = seed
            self.sampleTokens = sampleTokens
            self.context = context
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// The options asked for what cannot be (else the data was at fault).
        public var usage = false
    }

    /// How a layer was split: the neurons of each expert, and the router's rows (experts x
    /// width, row-major).
    public struct LayerPlan: Sendable {
        public let neurons: [[Int]]
        public let router: [Float]
    }

    /// Refuses what cannot be converted, saying why and what would work.
    public static func check(_ c: ModelConfig, _ file: GGUFFile, _ o: Options) throws(Failure) {
        guard c.architecture == "llama", c.experts == 0 else {
            throw Failure(description: "\(file.path): moefy converts a dense llama-architecture model (SmolLM, Llama, TinyLlama); this one is \(c.architecture)\(c.experts > 0 ? " with \(c.experts) experts already" : "")")
        }
        let ff = file.tensor("blk.0.ffn_up.weight")?.shape[1] ?? 0
        guard o.experts >= 2, ff % o.experts == 0 else {
            throw Failure(description: "--experts \(o.experts): the feed-forward width \(ff) must split evenly into 2 or more experts (divisors of \(ff): \(divisors(ff).filter { $0 >= 2 && $0 <= 256 }.map(String.init).joined(separator: ", ")))", usage: true)
        }
        guard (1...o.experts).contains(o.used) else {
            throw Failure(description: "--used \(o.used): a token can use 1 to \(o.experts) experts", usage: true)
        }
        let down = file.tensor("blk.0.ffn_down.weight")?.type ?? .f32
        if !exactTypes.contains(down), (ff / o.experts) % 32 != 0 {
            throw Failure(description: "--experts \(o.experts): experts of \(ff / o.experts) neurons cannot be written as Q8_0 (the down projection's rows must be whole blocks of 32); use one of \(divisors(ff).filter { $0 >= 2 && (ff / $0) % 32 == 0 }.map(String.init).joined(separator: ", "))", usage: true)
        }
    }

    /// Down projections of these types are re-sliced exactly; others are written as Q8_0.
    static let exactTypes: Set<GGMLType> = [.f32, .f16, .bf16]

    static func divisors(_ n: Int) -> [Int] { n > 0 ? (1...n).filter { n % $0 == 0 } : [] }

    /// The activations the plan (and a subset's refit) is made from: per layer, the block's
    /// inputs, hidden activations and outputs for the corpus tokens, read in chunks of `context`.
    public final class Samples {
        public let width: Int
        public let hiddenWidth: Int
        public private(set) var tokens = 0
        var inputs: [[Float]]
        var hidden: [[Float]]
        var outputs: [[Float]]

        init(layers: Int, width: Int, hiddenWidth: Int) {
            self.width = width
            self.hiddenWidth = hiddenWidth
            inputs = Array(repeating: [], count: layers)
            hidden = Array(repeating: [], count: layers)
            outputs = Array(repeating: [], count: layers)
        }

        /// Reads `corpus` through the dense model until `limit` tokens are kept;
        /// `progress(tokensKept, limit)` after each chunk.
        public static func collect(_ t: Transformer, corpus: [Int], limit: Int, context: Int,
                                   progress: (Int, Int) -> Void = { _, _ in }) throws -> Samples {
            let ff = t.file.tensor("blk.0.ffn_up.weight")?.shape[1] ?? 0
            let s = Samples(layers: t.config.layers, width: t.config.width, hiddenWidth: ff)
            t.feedForwardProbe = { trace in
                guard let h = trace.hidden, let y = trace.output else { return }
                s.inputs[trace.layer].append(contentsOf: UnsafeBufferPointer(start: trace.input, count: trace.tokens * s.width))
                s.hidden[trace.layer].append(contentsOf: UnsafeBufferPointer(start: h, count: trace.tokens * ff))
                s.outputs[trace.layer].append(contentsOf: UnsafeBufferPointer(start: y, count: trace.tokens * s.width))
            }
            defer { t.feedForwardProbe = nil }
            var start = 0
            while s.tokens < limit, start < corpus.count {
                let chunk = Array(corpus[start..<min(corpus.count, start + context, start + limit - s.tokens)])
                t.reset()
                _ = try t.forward(tokens: chunk)
                s.tokens += chunk.count
                start += chunk.count
                progress(s.tokens, limit)
            }
            return s
        }
    }

    /// Splits and fits every layer; `progress(layersDone, layers)`.
    public static func plan(_ samples: Samples, file: GGUFFile, options o: Options, progress: (Int, Int) -> Void = { _, _ in }) throws -> [LayerPlan] {
        var plans: [LayerPlan] = []
        for layer in samples.inputs.indices {
            let norms = try downColumnNorms(file, layer: layer, width: samples.width, hiddenWidth: samples.hiddenWidth)
            let neurons = cluster(samples.hidden[layer], tokens: samples.tokens, hiddenWidth: samples.hiddenWidth, experts: o.experts,
                                  seed: o.seed &+ UInt64(layer))
            let router = o.router == .uniform ? [Float](repeating: 0, count: o.experts * samples.width)
                : try fitRouter(samples, layer: layer, neurons: neurons, columnNorms: norms)
            plans.append(LayerPlan(neurons: neurons, router: router))
            progress(layer + 1, samples.inputs.count)
        }
        return plans
    }

    /// The L2 norm of each column of layer `layer`'s down projection (how much a neuron's unit
    /// of activation moves the output).
    static func downColumnNorms(_ file: GGUFFile, layer: Int, width: Int, hiddenWidth: Int) throws -> [Float] {
        let down = try denseRows(file, "blk.\(layer).ffn_down.weight", rows: width, cols: hiddenWidth)
        var sq = [Double](repeating: 0, count: hiddenWidth)
        for o in 0..<width { for j in 0..<hiddenWidth { let v = Double(down[o * hiddenWidth + j]); sq[j] += v * v } }
        return sq.map { Float($0.squareRoot()) }
    }

    /// A dense tensor's rows as floats.
    static func denseRows(_ file: GGUFFile, _ name: String, rows: Int, cols: Int) throws -> [Float] {
        guard let t = file.tensor(name), t.shape == [cols, rows] else {
            throw Failure(description: "\(file.path): tensor '\(name)' is missing or not \(cols) x \(rows)")
        }
        var out = [Float](repeating: 0, count: rows * cols)
        let data = file.data(of: t), rowBytes = t.byteCount / rows
        out.withUnsafeMutableBufferPointer { o in
            for r in 0..<rows { Dequantize.row(data.baseAddress! + r * rowBytes, type: t.type, count: cols, into: o.baseAddress! + r * cols) }
        }
        return out
    }

    /// Balanced k-means over the neurons' firing patterns (each neuron's |activation| over the
    /// sample, scaled to unit length; `hidden` is signed, tokens x neurons): `experts` groups of equal size, each neuron in the group
    /// whose centre it is most similar to, capacity allowing (pairs taken best first). Seeded, so
    /// a run repeats; neurons in each group in ascending order.
    static func cluster(_ hidden: [Float], tokens n: Int, hiddenWidth ff: Int, experts: Int, seed: UInt64) -> [[Int]] {
        let size = ff / experts
        var v = [Float](repeating: 0, count: ff * n)
        for t in 0..<n { for j in 0..<ff { v[j * n + t] = abs(hidden[t * ff + j]) } }
        for j in 0..<ff { normalize(&v, j * n, n) }
        var random = SplitMix64(seed: seed)
        var centres = [Float](repeating: 0, count: experts * n)
        for (e, j) in Array(0..<ff).shuffled(using: &random).prefix(experts).enumerated() {
            for t in 0..<n { centres[e * n + t] = v[j * n + t] }
        }
        var owner = [Int](repeating: -1, count: ff)
        for _ in 0..<30 {
            var pairs: [(similarity: Float, neuron: Int, expert: Int)] = []
            pairs.reserveCapacity(ff * experts)
            v.withUnsafeBufferPointer { vp in
                centres.withUnsafeBufferPointer { cp in
                    for j in 0..<ff { for e in 0..<experts {
                        pairs.append((mt_dot_f32(cp.baseAddress! + e * n, vp.baseAddress! + j * n, Int32(n)), j, e))
                    } }
                }
            }
            pairs.sort { $0.similarity > $1.similarity || ($0.similarity == $1.similarity && ($0.neuron, $0.expert) < ($1.neuron, $1.expert)) }
            var next = [Int](repeating: -1, count: ff), room = [Int](repeating: size, count: experts)
            for p in pairs where next[p.neuron] < 0 && room[p.expert] > 0 {
                next[p.neuron] = p.expert
                room[p.expert] -= 1
            }
            if next == owner { break }
            owner = next
            centres = [Float](repeating: 0, count: experts * n)
            for j in 0..<ff { for t in 0..<n { centres[owner[j] * n + t] += v[j * n + t] } }
            for e in 0..<experts { normalize(&centres, e * n, n) }
        }
        return (0..<experts).map { e in (0..<ff).filter { owner[$0] == e } }
    }

    static func normalize(_ x: inout [Float], _ start: Int, _ n: Int) {
        var sq: Float = 0
        for i in start..<(start + n) { sq += x[i] * x[i] }
        guard sq > 0 else { return }
        let s = 1 / sq.squareRoot()
        for i in start..<(start + n) { x[i] *= s }
    }

    /// Least squares with a small ridge (1e-3 of the mean diagonal of x^T x, at least `floor`):
    /// the `outputs` x `columns` matrix b minimizing |x b^T - targets|^2, for `rows` rows of x
    /// (`columns` wide) and of targets (`outputs` wide); row-major. Nil when singular.
    static func ridgeSolve(_ x: [Float], rows n: Int, columns w: Int, targets: [Float], outputs m: Int, floor: Double) -> [Double]? {
        var gram = [Double](repeating: 0, count: w * w), cross = [Double](repeating: 0, count: m * w)
        x.withUnsafeBufferPointer { xp in
            mt_gram_add(xp.baseAddress!, Int32(n), Int32(w), &gram)
            targets.withUnsafeBufferPointer { y in mt_cross_add(xp.baseAddress!, Int32(n), Int32(w), y.baseAddress!, Int32(m), &cross) }
        }
        return ridgeSolve(gram: &gram, cross: &cross, columns: w, outputs: m, floor: floor)
    }

    /// The same solve from sums already made: `gram` (columns squared, upper triangle) and
    /// `cross` (outputs x columns), both used up. (Also the Newton steps of `bench fit-turns`.)
    public static func ridgeSolve(gram: inout [Double], cross: inout [Double], columns w: Int, outputs m: Int, floor: Double) -> [Double]? {
        var trace = 0.0
        for i in 0..<w { trace += gram[i * w + i] }
        let ridge = max(floor, 1e-3 * trace / Double(w))
        for i in 0..<w { gram[i * w + i] += ridge }
        return mt_cholesky_solve(&gram, Int32(w), &cross, Int32(m)) == 0 ? cross : nil
    }

    /// The router of one layer: ridge regression from the block input to each expert's log share
    /// (centred per token), then scaled so the logits of a token spread by about 0.01 (the top-k
    /// weights stay within a percent of 1/k; see the type's comment).
    static func fitRouter(_ s: Samples, layer: Int, neurons: [[Int]], columnNorms: [Float]) throws -> [Float] {
        let n = s.tokens, w = s.width, ff = s.hiddenWidth, e = neurons.count
        var targets = [Float](repeating: 0, count: n * e)
        for t in 0..<n {
            var mean: Float = 0
            for (k, members) in neurons.enumerated() {
                var share: Float = 0
                for j in members { share += abs(s.hidden[layer][t * ff + j]) * columnNorms[j] }
                targets[t * e + k] = log(share + 1e-6)
                mean += targets[t * e + k]
            }
            mean /= Float(e)
            for k in 0..<e { targets[t * e + k] -= mean }
        }
        guard let cross = ridgeSolve(s.inputs[layer], rows: n, columns: w, targets: targets, outputs: e, floor: 1e-6) else {
            throw Failure(description: "layer \(layer): the router's fit is singular (the corpus sample is too small or constant); give a longer --text")
        }
        // The spread of the fitted logits over the sample, to scale it to 0.01.
        var spread = 0.0
        s.inputs[layer].withUnsafeBufferPointer { x in
            for t in 0..<n {
                var sum = 0.0, sq = 0.0
                for k in 0..<e {
                    var l = 0.0
                    for i in 0..<w { l += cross[k * w + i] * Double(x[t * w + i]) }
                    sum += l
                    sq += l * l
                }
                spread += max(0, sq / Double(e) - (sum / Double(e)) * (sum / Double(e))).squareRoot()
            }
        }
        let scale = spread > 0 ? 0.01 / (spread / Double(n)) : 0
        return cross.map { Float($0 * scale) }
    }
}
