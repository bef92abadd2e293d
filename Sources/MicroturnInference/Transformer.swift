import CMicroturnKernels
import Foundation

/// The forward pass every family shares (each family's weights, from Architectures/, say which
/// parts it takes), in batches of tokens, with a key/value cache; weights are read in place from
/// the file.
public final class Transformer {
    public let file: GGUFFile
    public let config: ModelConfig

    let embedding: Matrix
    let layers: [Layer]
    let outputNorm: [Float]
    let output: Matrix
    private let cache: KVCache
    /// The tokens the key/value cache holds, in order (what a caller that goes on from a prefix
    /// compares with).
    public private(set) var tokens: [Int] = []
    /// The next position: how many tokens the cache holds.
    public var position: Int { tokens.count }

    /// Shares each matrix product's rows (nil: the calling thread alone).
    let pool: WorkerPool?
    /// Weights repacked for their kernels (Q4_0), in memory beside the file's mapping.
    let packedWeights = PackedWeights()
    /// Bytes of weights copied into memory by repacking.
    public var repackedBytes: Int { packedWeights.bytes }
    /// Bytes the key/value cache holds now.
    public var cacheBytes: Int { cache.bytes }
    /// The experts a board keeps in memory and what happens to the others (nil: all are used as
    /// the router picks them); set with `attach`.
    public private(set) var residency: ExpertResidency?

    /// Puts `r` in charge of this model's experts (nil: none); the non-resident experts' pages
    /// are given back at once when paging.
    public func attach(_ r: ExpertResidency?) {
        residency = r
        guard let r else { return }
        r.file = file
        r.weights = layers.map { layer in
            guard case let .experts(e) = layer.feedForward else { return [] }
            return e.experts.map { [$0.gate, $0.up, $0.down] }
        }
        if case .page = r.mode {
            for (l, layer) in r.weights.enumerated() { for (e, ms) in layer.enumerated() where !r.resident[l][e] {
                for m in ms { file.release(UnsafeRawBufferPointer(start: m.base, count: m.rows * m.rowBytes)) }
            } }
        }
    }

    /// Sees every feed-forward block as it runs (what fitting and profiling experts read); nil
    /// on the usual path, which then does no extra work.
    public var feedForwardProbe: ((FeedForwardTrace) -> Void)?

    public convenience init(path: String, threads: Int = 1, kvCache: KVCache.Precision = .f32) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path), threads: threads, kvCache: kvCache)
    }

    /// `kvCache`: how keys and values are kept (F32 by default: the engine's reference results;
    /// F16 halves the cache, as llama.cpp does by default).
    public init(file: GGUFFile, threads: Int = 1, kvCache: KVCache.Precision = .f32) throws(GGUFError) {
        self.file = file
        pool = threads > 1 ? WorkerPool(threads: threads) : nil
        let c = try ModelConfig(file)
        config = c
        let w = TensorLookup(file: file, packed: packedWeights)
        // Embedding rows are looked up, not multiplied: they stay as the file has them.
        embedding = try TensorLookup(file: file).matrix("token_embd.weight", rows: c.vocabulary, cols: c.width)
        let family = ModelFamilies.named(c.architecture)!  // ModelConfig refused any other
        var layers: [Layer] = []
        for i in 0..<c.layers { layers.append(try family.layer(i, w, c)) }
        self.layers = layers
        outputNorm = try w.vector("output_norm.weight", c.width)
        // Tied embeddings: no output matrix, the embedding serves.
        if file.tensor("output.weight") != nil {
            output = try w.matrix("output.weight", rows: c.vocabulary, cols: c.width)
        } else {
            output = packedWeights.pack([embedding], of: try w.tensor("token_embd.weight"), in: file)[0]
        }
        cache = KVCache(layers: c.layers, heads: c.kvHeads, dim: c.headDim, limit: c.contextLength, precision: kvCache)
    }

    /// Forgets every position.
    public func reset() { tokens.removeAll(keepingCapacity: true) }

    /// Forgets the positions from `count` on, keeping those before (a conversation that goes on
    /// from a prefix already read does not read it again).
    public func rewind(to count: Int) {
        precondition(count >= 0 && count <= position, "rewind within what was fed")
        tokens.removeLast(position - count)
    }

    /// Feeds one token at the next position; returns the logits for what comes after it.
    public func forward(token: Int) throws(GGUFError) -> [Float] { try forward(tokens: [token]) }

    /// Tokens fed as one batch at most (longer prompts go in several, which bounds the memory).
    public static let maxBatch = 256

    /// Feeds `tokens` at the next positions in batches (each row of weights is read once for a
    /// whole batch); returns the logits after the last one, or after each one with `allLogits`
    /// (row-major, `vocabulary` per token). The results equal feeding them one at a time.
    /// Positions past the model's `context_length` are refused (the key/value cache never grows
    /// past it), and so are ids outside the vocabulary; nothing is fed then.
    public func forward(tokens: [Int], allLogits: Bool = false) throws(GGUFError) -> [Float] {
        guard !tokens.isEmpty else { return [] }
        guard tokens.count <= config.contextLength - position else {
            throw .contextFull(path: file.path, contextLength: config.contextLength, asked: position + tokens.count)
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabulary }) {
            throw .unknownToken(path: file.path, token: bad, vocabulary: config.vocabulary)
        }
        if tokens.count <= Self.maxBatch { return forwardBatch(tokens, logitsFor: allLogits ? Array(tokens.indices) : [tokens.count - 1]) }
        var logits: [Float] = []
        for start in stride(from: 0, to: tokens.count, by: Self.maxBatch) {
            let batch = Array(tokens[start..<min(tokens.count, start + Self.maxBatch)])
            let last = start + batch.count == tokens.count
            // Batches before the last need no logits unless all are asked for (the output matrix
            // is the largest read of a step).
            logits += forwardBatch(batch, logitsFor: allLogits ? Array(batch.indices) : last ? [batch.count - 1] : [])
        }
        return logits
    }

    /// One batch; the logits of the batch positions in `logitsFor`, row after row.
    func forwardBatch(_ tokens: [Int], logitsFor wanted: [Int]) -> [Float] {
        let c = config, n = tokens.count
        let x = Activations(rows: n, cols: c.width)
        for (i, token) in tokens.enumerated() {
            let row = embedding.floats(row: token), xi = x.row(i)
            for j in 0..<c.width { xi[j] = row[j] * c.embeddingScale }
        }
        let rotations = (0..<n).map { ropeRotations(at: position + $0) }
        cache.reserve(position + n, used: position)
        for (i, layer) in layers.enumerated() {
            addResidual(x, attention(normed(x, layer.attentionNorm), layer: layer, index: i, rotations: rotations))
            addResidual(x, feedForward(normed(x, layer.ffnNorm), layer: layer, index: i))
        }
        self.tokens += tokens
        guard !wanted.isEmpty else { return [] }
        var logits = [Float](repeating: 0, count: wanted.count * c.vocabulary)
        let final = normed(x, outputNorm)
        logits.withUnsafeMutableBufferPointer {
            Product.run([Product(matrix: output, input: final, tokens: wanted, output: $0.baseAddress!, outputStride: c.vocabulary)], pool: pool)
        }
        if c.logitScale != 1 { for i in logits.indices { logits[i] /= c.logitScale } }
        return logits
    }

    /// `body` for each of `count` rows, shared out on the pool when there are several (a batch's
    /// element-wise steps would otherwise leave the other threads idle between its products).
    func eachRow(_ count: Int, _ body: (Int) -> Void) {
        if let pool, count > 1 { pool.parallelFor(count, body) } else { for i in 0..<count { body(i) } }
    }

    func addResidual(_ x: Activations, _ y: Activations) {
        let s = config.residualScale, cols = x.cols
        eachRow(x.rows) { t in
            let xr = x.row(t), yr = y.row(t)
            for i in 0..<cols { xr[i] += yr[i] * s }
        }
    }

    /// Each row RMS-normalized and scaled by `w`.
    func normed(_ x: Activations, _ w: [Float]) -> Activations {
        let y = Activations(rows: x.rows, cols: x.cols)
        y.floats.update(from: x.floats, count: x.rows * x.cols)
        let (cols, eps) = (x.cols, config.rmsEpsilon)
        eachRow(x.rows) { t in Self.rmsNorm(y.row(t), count: cols, w, eps) }
        return y
    }

    func attention(_ h: Activations, layer: Layer, index: Int, rotations: [[(cos: Float, sin: Float)]]) -> Activations {
        let c = config, d = c.headDim, n = h.rows, all = Array(0..<n)
        let qDim = c.heads * d, kvDim = c.kvHeads * d, group = c.heads / c.kvHeads
        let q = Activations(rows: n, cols: qDim), k = Activations(rows: n, cols: kvDim), v = Activations(rows: n, cols: kvDim)
        let a = layer.attention
        Product.run([Product(matrix: a.q, input: h, tokens: all, output: q.floats, outputStride: qDim),
                     Product(matrix: a.k, input: h, tokens: all, output: k.floats, outputStride: kvDim),
                     Product(matrix: a.v, input: h, tokens: all, output: v.floats, outputStride: kvDim)], pool: pool)
        eachRow(n) { t in
            switch a.qkNorm {
            case .none: break
            case let .whole(qNorm, kNorm):
                Self.rmsNorm(q.row(t), count: qDim, qNorm, c.rmsEpsilon)
                Self.rmsNorm(k.row(t), count: kvDim, kNorm, c.rmsEpsilon)
            case let .perHead(qNorm, kNorm):
                for hd in 0..<c.heads { Self.rmsNorm(q.row(t) + hd * d, count: d, qNorm, c.rmsEpsilon) }
                for hd in 0..<c.kvHeads { Self.rmsNorm(k.row(t) + hd * d, count: d, kNorm, c.rmsEpsilon) }
            }
            for hd in 0..<c.heads { rope(q.row(t) + hd * d, rotations[t]) }
            for hd in 0..<c.kvHeads { rope(k.row(t) + hd * d, rotations[t]) }
        }
        cache.store(layer: index, first: position, count: n, keys: k.floats, values: v.floats, stride: kvDim)
        let out = Activations(rows: n, cols: qDim), first = position, scale = c.attentionScale, cache = self.cache
        let f16: Int32 = cache.precision == .f16 ? 1 : 0
        // One job per token and key/value head: its query heads together, token t seeing positions
        // 0...first + t.
        let heads = { (job: Int) in
            let t = job / c.kvHeads, kvh = job % c.kvHeads, positions = first + t + 1
            let keys = cache.keys(layer: index, head: kvh), values = cache.values(layer: index, head: kvh)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: group * positions) { scores in
                mt_attend_heads(q.row(t) + kvh * group * d, Int32(group), keys, values, f16, Int32(positions), Int32(d), scale,
                                scores.baseAddress!, out.row(t) + kvh * group * d)
            }
        }
        if let pool { pool.parallelFor(n * c.kvHeads, heads) } else { for job in 0..<(n * c.kvHeads) { heads(job) } }
        let o = Activations(rows: n, cols: c.width)
        Product.run([Product(matrix: a.o, input: out, tokens: all, output: o.floats, outputStride: c.width)], pool: pool)
        return o
    }

    /// The rotation angles' cosines and sines at `position`, one pair per rotated pair of
    /// dimensions: the same for every head of every layer, so worked out once per token.
    func ropeRotations(at position: Int) -> [(cos: Float, sin: Float)] {
        let n = config.ropeDims
        return (0..<(n / 2)).map { i in
            let theta = Float(position) * config.ropeScale * pow(config.ropeBase, -2 * Float(i) / Float(n))
            return (cos(theta), sin(theta))
        }
    }

    /// Rotary position embedding of one head.
    func rope(_ x: UnsafeMutablePointer<Float>, _ rotations: [(cos: Float, sin: Float)]) {
        let half = config.ropeDims / 2, norm = config.rope == .norm
        for i in 0..<half {
            let (cs, sn) = rotations[i]
            let (a, b) = norm ? (2 * i, 2 * i + 1) : (i, i + half)
            let (x0, x1) = (x[a], x[b])
            x[a] = x0 * cs - x1 * sn
            x[b] = x0 * sn + x1 * cs
        }
    }

    func feedForward(_ h: Activations, layer: Layer, index: Int) -> Activations {
        let c = config, n = h.rows, all = Array(0..<n)
        let moe: Experts
        switch layer.feedForward {
        case let .dense(block):
            let (hidden, out) = swiglu(h, [(block, all)])
            if let probe = feedForwardProbe {
                // (The pointer does not keep its owner alive: the optimizer may free it first.)
                withExtendedLifetime(hidden) {
                    probe(FeedForwardTrace(layer: index, tokens: n, input: h.floats, hidden: hidden[0].floats, hiddenWidth: block.gate.rows, output: out[0].floats))
                }
            }
            return out[0]
        case let .experts(e): moe = e
        }
        let logits = Activations(rows: n, cols: c.experts)
        Product.run([Product(matrix: moe.router, input: h, tokens: all, output: logits.floats, outputStride: c.experts)], pool: pool)
        // Per token: softmax over all experts, keep the top k (ties to the lower index), weights
        // optionally renormalized; each chosen expert runs on the tokens that chose it.
        var tokensOf = [[Int]](repeating: [], count: c.experts)
        var picks: [[(expert: Int, row: Int, weight: Float)]] = []
        for t in 0..<n {
            let l = UnsafeBufferPointer(start: logits.row(t), count: c.experts)
            let best = l.max() ?? 0
            var probs = l.map { exp($0 - best) }
            let total = probs.reduce(0, +)
            for i in probs.indices { probs[i] /= total }
            let ranked = probs.indices.sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
            var chosen = ranked.prefix(c.expertsUsed)
            if let r = residency {
                if r.reroutes {
                    chosen = ranked.filter { r.resident[index][$0] }.prefix(c.expertsUsed)
                    r.stats.rerouted += Set(ranked.prefix(c.expertsUsed)).subtracting(chosen).count
                }
                for e in chosen { r.use(index, e) }
            }
            let sum = chosen.reduce(Float(0)) { $0 + probs[$1] }
            picks.append(chosen.map { e in
                tokensOf[e].append(t)
                return (e, tokensOf[e].count - 1, moe.normalizeWeights ? probs[e] / sum : probs[e])
            })
        }
        let active = tokensOf.indices.filter { !tokensOf[$0].isEmpty }
        var parts = active.map { (moe.experts[$0], tokensOf[$0]) }
        if let shared = moe.shared { parts.append((shared.block, all)) }
        let ys = swiglu(h, parts).out
        var part = [Int](repeating: -1, count: c.experts)
        for (i, e) in active.enumerated() { part[e] = i }
        if let probe = feedForwardProbe {
            let traced = picks.map { $0.map { p in
                let y = ys[part[p.expert]].row(p.row)
                var sq: Float = 0
                for j in 0..<c.width { sq += y[j] * y[j] }
                return FeedForwardTrace.Pick(expert: p.expert, weight: p.weight, outputNorm: sq.squareRoot())
            } }
            probe(FeedForwardTrace(layer: index, tokens: n, input: h.floats, picks: traced))
        }
        let out = Activations(rows: n, cols: c.width)
        for t in 0..<n {
            let o = out.row(t)
            for pick in picks[t] {
                let y = ys[part[pick.expert]].row(pick.row)
                for j in 0..<c.width { o[j] += pick.weight * y[j] }
            }
            if let gate = moe.shared?.gate {
                let hRow = h.row(t)
                var g: Float = 0
                for j in 0..<c.width { g += gate[j] * hRow[j] }
                let weight = 1 / (1 + exp(-g)), y = ys[active.count].row(t)
                for j in 0..<c.width { o[j] += weight * y[j] }
            }
        }
        return out
    }

    /// SwiGLU feed-forward blocks, each on its own rows of `h`: all gates and ups as one job on
    /// the pool, then all downs; part i's results (its hidden activations silu(gate x) * up x and
    /// its output) have one row per token of its list.
    func swiglu(_ h: Activations, _ parts: [(ff: FeedForward, tokens: [Int])]) -> (hidden: [Activations], out: [Activations]) {
        let gates = parts.map { Activations(rows: $0.tokens.count, cols: $0.ff.gate.rows) }
        let ups = parts.map { Activations(rows: $0.tokens.count, cols: $0.ff.up.rows) }
        Product.run(parts.indices.flatMap { i in
            [Product(matrix: parts[i].ff.gate, input: h, tokens: parts[i].tokens, output: gates[i].floats, outputStride: gates[i].cols),
             Product(matrix: parts[i].ff.up, input: h, tokens: parts[i].tokens, output: ups[i].floats, outputStride: ups[i].cols)]
        }, pool: pool)
        // SiLU(gate) x up, a row per job (the exponentials are worth sharing out).
        let rows = parts.indices.flatMap { i in (0..<gates[i].rows).map { (i, $0) } }
        eachRow(rows.count) { job in
            let (i, t) = rows[job], cols = gates[i].cols
            let g = gates[i].row(t), u = ups[i].row(t)
            for j in 0..<cols { g[j] = g[j] / (1 + exp(-g[j])) * u[j] }
        }
        let downs = parts.map { Activations(rows: $0.tokens.count, cols: $0.ff.down.rows) }
        Product.run(parts.indices.map { i in
            Product(matrix: parts[i].ff.down, input: gates[i], tokens: Array(0..<parts[i].tokens.count), output: downs[i].floats, outputStride: downs[i].cols)
        }, pool: pool)
        return (gates, downs)
    }

    static func rmsNorm(_ x: UnsafeMutablePointer<Float>, count: Int, _ w: [Float], _ eps: Float) {
        var sum: Float = 0
        for i in 0..<count { sum += x[i] * x[i] }
        let scale = 1 / (sum / Float(count) + eps).squareRoot()
        for i in 0..<count { x[i] = x[i] * scale * w[i] }
    }
}
