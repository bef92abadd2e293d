import Foundation

/// The forward pass of every supported architecture (see `Architecture`), one token at a time,
/// with a key/value cache; weights are read in place from the file.
public final class Transformer {
    public let file: GGUFFile
    public let config: ModelConfig

    struct FeedForward {
        let gate: Matrix, up: Matrix, down: Matrix
    }

    struct Layer {
        let attentionNorm: [Float]
        let q: Matrix, k: Matrix, v: Matrix, o: Matrix
        let qNorm: [Float]?, kNorm: [Float]?
        let ffnNorm: [Float]
        let dense: FeedForward?
        let router: Matrix?
        let experts: [FeedForward]
        let sharedGate: [Float]?
        let shared: FeedForward?
    }

    let embedding: Matrix
    let layers: [Layer]
    let outputNorm: [Float]
    let output: Matrix
    /// Per layer: keys and values of every position so far, kvHeads x headDim each.
    private var keys: [[Float]]
    private var values: [[Float]]
    public private(set) var position = 0

    /// Shares each matrix product's rows (nil: the calling thread alone).
    let pool: WorkerPool?

    public convenience init(path: String, threads: Int = 1) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path), threads: threads)
    }

    public init(file: GGUFFile, threads: Int = 1) throws(GGUFError) {
        self.file = file
        pool = threads > 1 ? WorkerPool(threads: threads) : nil
        let c = try ModelConfig(file)
        config = c
        let w = TensorLookup(file: file)
        let qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim
        embedding = try w.matrix("token_embd.weight", rows: c.vocabulary, cols: c.width)
        var layers: [Layer] = []
        for i in 0..<c.layers {
            let b = "blk.\(i)."
            let ff = c.experts > 0 ? (file.metadata["\(c.architecture.name).expert_feed_forward_length"]?.integer
                                      ?? w.file.tensor(b + "ffn_up_exps.weight")?.shape[1] ?? 0)
                                   : (file.tensor(b + "ffn_up.weight")?.shape[1] ?? 0)
            var qNorm: [Float]?, kNorm: [Float]?
            switch c.architecture.qkNorm {
            case .none: break
            case .perHead:
                qNorm = try w.vector(b + "attn_q_norm.weight", c.headDim)
                kNorm = try w.vector(b + "attn_k_norm.weight", c.headDim)
            case .whole:
                qNorm = try w.vector(b + "attn_q_norm.weight", qDim)
                kNorm = try w.vector(b + "attn_k_norm.weight", kvDim)
            }
            var dense: FeedForward?, router: Matrix?, experts: [FeedForward] = []
            if c.experts > 0 {
                router = try w.matrix(b + "ffn_gate_inp.weight", rows: c.experts, cols: c.width)
                let gates = try w.experts(b + "ffn_gate_exps.weight", rows: ff, cols: c.width, count: c.experts)
                let ups = try w.experts(b + "ffn_up_exps.weight", rows: ff, cols: c.width, count: c.experts)
                let downs = try w.experts(b + "ffn_down_exps.weight", rows: c.width, cols: ff, count: c.experts)
                experts = (0..<c.experts).map { FeedForward(gate: gates[$0], up: ups[$0], down: downs[$0]) }
            } else {
                dense = FeedForward(gate: try w.matrix(b + "ffn_gate.weight", rows: ff, cols: c.width),
                                    up: try w.matrix(b + "ffn_up.weight", rows: ff, cols: c.width),
                                    down: try w.matrix(b + "ffn_down.weight", rows: c.width, cols: ff))
            }
            var sharedGate: [Float]?, shared: FeedForward?
            if c.architecture.sharedExpert {
                let sff = file.metadata["\(c.architecture.name).expert_shared_feed_forward_length"]?.integer ?? ff
                sharedGate = try w.vector(b + "ffn_gate_inp_shexp.weight", c.width)
                shared = FeedForward(gate: try w.matrix(b + "ffn_gate_shexp.weight", rows: sff, cols: c.width),
                                     up: try w.matrix(b + "ffn_up_shexp.weight", rows: sff, cols: c.width),
                                     down: try w.matrix(b + "ffn_down_shexp.weight", rows: c.width, cols: sff))
            }
            layers.append(Layer(
                attentionNorm: try w.vector(b + "attn_norm.weight", c.width),
                q: try w.matrix(b + "attn_q.weight", rows: qDim, cols: c.width),
                k: try w.matrix(b + "attn_k.weight", rows: kvDim, cols: c.width),
                v: try w.matrix(b + "attn_v.weight", rows: kvDim, cols: c.width),
                o: try w.matrix(b + "attn_output.weight", rows: c.width, cols: qDim),
                qNorm: qNorm, kNorm: kNorm,
                ffnNorm: try w.vector(b + "ffn_norm.weight", c.width),
                dense: dense, router: router, experts: experts, sharedGate: sharedGate, shared: shared))
        }
        self.layers = layers
        outputNorm = try w.vector("output_norm.weight", c.width)
        // Tied embeddings: no output matrix, the embedding serves.
        output = file.tensor("output.weight") == nil ? embedding
            : try w.matrix("output.weight", rows: c.vocabulary, cols: c.width)
        keys = Array(repeating: [], count: c.layers)
        values = Array(repeating: [], count: c.layers)
    }

    /// Forgets every position.
    public func reset() {
        for i in keys.indices {
            keys[i].removeAll(keepingCapacity: true)
            values[i].removeAll(keepingCapacity: true)
        }
        position = 0
    }

    /// Feeds one token at the next position; returns the logits for what comes after it.
    public func forward(token: Int) -> [Float] {
        let c = config
        precondition(token >= 0 && token < c.vocabulary, "token \(token) is outside the vocabulary")
        var x = embedding.floats(row: token)
        if c.embeddingScale != 1 { for i in x.indices { x[i] *= c.embeddingScale } }
        let rotations = ropeRotations()
        for (i, layer) in layers.enumerated() {
            let h = Self.rmsNorm(x, layer.attentionNorm, c.rmsEpsilon)
            let a = attention(h, layer: layer, index: i, rotations: rotations)
            for j in x.indices { x[j] += a[j] * c.residualScale }
            let g = Self.rmsNorm(x, layer.ffnNorm, c.rmsEpsilon)
            let f = feedForward(g, layer: layer)
            for j in x.indices { x[j] += f[j] * c.residualScale }
        }
        position += 1
        var logits = output.apply(Self.rmsNorm(x, outputNorm, c.rmsEpsilon), pool: pool)
        if c.logitScale != 1 { for i in logits.indices { logits[i] /= c.logitScale } }
        return logits
    }

    func attention(_ h: [Float], layer: Layer, index: Int, rotations: [(cos: Float, sin: Float)]) -> [Float] {
        let c = config, d = c.headDim
        var q = layer.q.apply(h, pool: pool), k = layer.k.apply(h, pool: pool)
        let v = layer.v.apply(h, pool: pool)
        switch c.architecture.qkNorm {
        case .none: break
        case .whole:
            q = Self.rmsNorm(q, layer.qNorm!, c.rmsEpsilon)
            k = Self.rmsNorm(k, layer.kNorm!, c.rmsEpsilon)
        case .perHead:
            for hd in 0..<c.heads { Self.rmsNormInPlace(&q, from: hd * d, count: d, layer.qNorm!, c.rmsEpsilon) }
            for hd in 0..<c.kvHeads { Self.rmsNormInPlace(&k, from: hd * d, count: d, layer.kNorm!, c.rmsEpsilon) }
        }
        for hd in 0..<c.heads { rope(&q, from: hd * d, rotations) }
        for hd in 0..<c.kvHeads { rope(&k, from: hd * d, rotations) }
        keys[index] += k
        values[index] += v
        let positions = position + 1, kvDim = c.kvHeads * d, group = c.heads / c.kvHeads
        var out = [Float](repeating: 0, count: c.heads * d)
        var scores = [Float](repeating: 0, count: positions)
        keys[index].withUnsafeBufferPointer { K in
            values[index].withUnsafeBufferPointer { V in
                for hd in 0..<c.heads {
                    let kvh = hd / group
                    var best = -Float.infinity
                    for p in 0..<positions {
                        var s: Float = 0
                        for j in 0..<d { s += q[hd * d + j] * K[p * kvDim + kvh * d + j] }
                        scores[p] = s * c.attentionScale
                        best = max(best, scores[p])
                    }
                    var total: Float = 0
                    for p in 0..<positions {
                        scores[p] = exp(scores[p] - best)
                        total += scores[p]
                    }
                    for p in 0..<positions {
                        let w = scores[p] / total
                        for j in 0..<d { out[hd * d + j] += w * V[p * kvDim + kvh * d + j] }
                    }
                }
            }
        }
        return layer.o.apply(out, pool: pool)
    }

    /// The rotation angles' cosines and sines at the current position, one pair per rotated pair
    /// of dimensions: the same for every head of every layer, so worked out once per token.
    func ropeRotations() -> [(cos: Float, sin: Float)] {
        let n = config.ropeDims
        return (0..<(n / 2)).map { i in
            let theta = Float(position) * pow(config.ropeBase, -2 * Float(i) / Float(n))
            return (cos(theta), sin(theta))
        }
    }

    /// Rotary position embedding of one head starting at `from`.
    func rope(_ x: inout [Float], from: Int, _ rotations: [(cos: Float, sin: Float)]) {
        let c = config, half = c.ropeDims / 2
        for i in 0..<half {
            let (cs, sn) = rotations[i]
            let (a, b) = c.architecture.rope == .norm ? (from + 2 * i, from + 2 * i + 1) : (from + i, from + i + half)
            let (x0, x1) = (x[a], x[b])
            x[a] = x0 * cs - x1 * sn
            x[b] = x0 * sn + x1 * cs
        }
    }

    func feedForward(_ h: [Float], layer: Layer) -> [Float] {
        if let dense = layer.dense { return swiglu(h, dense) }
        let c = config
        let logits = layer.router!.apply(h, pool: pool)
        // Softmax over all experts, keep the top k (ties to the lower index), optionally renormalized.
        let best = logits.max() ?? 0
        var probs = logits.map { exp($0 - best) }
        let total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        let chosen = probs.indices.sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }.prefix(c.expertsUsed)
        let sum = chosen.reduce(Float(0)) { $0 + probs[$1] }
        var out = [Float](repeating: 0, count: c.width)
        for e in chosen {
            let weight = c.architecture.normalizeExpertWeights ? probs[e] / sum : probs[e]
            let y = swiglu(h, layer.experts[e])
            for j in out.indices { out[j] += weight * y[j] }
        }
        if let gate = layer.sharedGate, let shared = layer.shared {
            var g: Float = 0
            for j in h.indices { g += gate[j] * h[j] }
            let weight = 1 / (1 + exp(-g))
            let y = swiglu(h, shared)
            for j in out.indices { out[j] += weight * y[j] }
        }
        return out
    }

    func swiglu(_ h: [Float], _ f: FeedForward) -> [Float] {
        let g = f.gate.apply(h, pool: pool), u = f.up.apply(h, pool: pool)
        var a = [Float](repeating: 0, count: g.count)
        for i in a.indices { a[i] = g[i] / (1 + exp(-g[i])) * u[i] }
        return f.down.apply(a, pool: pool)
    }

    static func rmsNorm(_ x: [Float], _ w: [Float], _ eps: Float) -> [Float] {
        var y = x
        rmsNormInPlace(&y, from: 0, count: x.count, w, eps)
        return y
    }

    static func rmsNormInPlace(_ x: inout [Float], from: Int, count: Int, _ w: [Float], _ eps: Float) {
        var sum: Float = 0
        for i in from..<(from + count) { sum += x[i] * x[i] }
        let scale = 1 / (sum / Float(count) + eps).squareRoot()
        for i in 0..<count { x[from + i] = x[from + i] * scale * w[i] }
    }
}
