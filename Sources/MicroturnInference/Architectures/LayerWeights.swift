/// The weights of one transformer block, in the shapes the shared forward pass (Transformer)
/// computes with; families build them with the loaders below.
struct Layer {
    let attentionNorm: [Float]
    let attention: Attention
    let ffnNorm: [Float]
    let feedForward: FeedForwardBlock
}

/// A SwiGLU block: down(silu(gate x) * up x).
struct FeedForward {
    let gate: Matrix, up: Matrix, down: Matrix
}

struct Attention {
    /// RMS norms on the queries and keys after their projections, per head or over all heads.
    enum QKNorm { case none, perHead(q: [Float], k: [Float]), whole(q: [Float], k: [Float]) }
    enum QKNormKind { case none, perHead, whole }

    let q: Matrix, k: Matrix, v: Matrix, o: Matrix
    let qkNorm: QKNorm
}

/// Routed experts: a softmax over the router's logits, the top `expertsUsed` taken (their weights
/// renormalized to sum to 1 when `normalizeWeights`), and optionally a shared expert every token
/// goes through, scaled by sigmoid(gate . x).
struct Experts {
    let router: Matrix
    let experts: [FeedForward]
    let normalizeWeights: Bool
    let shared: (gate: [Float], block: FeedForward)?
}

enum FeedForwardBlock {
    case dense(FeedForward)
    case experts(Experts)
}

extension Layer {
    /// The usual block (attn_norm, attention, ffn_norm, feed-forward) of layer `i`.
    static func load(_ i: Int, _ w: TensorLookup, _ c: ModelConfig, qkNorm: Attention.QKNormKind,
                     feedForward: (String) throws(GGUFError) -> FeedForwardBlock) throws(GGUFError) -> Layer {
        let b = "blk.\(i)."
        return Layer(attentionNorm: try w.vector(b + "attn_norm.weight", c.width), attention: try Attention.load(w, b, c, qkNorm: qkNorm),
                     ffnNorm: try w.vector(b + "ffn_norm.weight", c.width), feedForward: try feedForward(b))
    }
}

extension Attention {
    static func load(_ w: TensorLookup, _ b: String, _ c: ModelConfig, qkNorm: QKNormKind) throws(GGUFError) -> Attention {
        let qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim
        let norm: QKNorm
        switch qkNorm {
        case .none: norm = .none
        case .perHead: norm = .perHead(q: try w.vector(b + "attn_q_norm.weight", c.headDim), k: try w.vector(b + "attn_k_norm.weight", c.headDim))
        case .whole: norm = .whole(q: try w.vector(b + "attn_q_norm.weight", qDim), k: try w.vector(b + "attn_k_norm.weight", kvDim))
        }
        return Attention(q: try w.matrix(b + "attn_q.weight", rows: qDim, cols: c.width),
                         k: try w.matrix(b + "attn_k.weight", rows: kvDim, cols: c.width),
                         v: try w.matrix(b + "attn_v.weight", rows: kvDim, cols: c.width),
                         o: try w.matrix(b + "attn_output.weight", rows: c.width, cols: qDim), qkNorm: norm)
    }
}

extension FeedForward {
    /// ffn_gate, ffn_up, ffn_down (with `suffix`: the shared expert's, "_shexp"), `ff` wide.
    static func load(_ w: TensorLookup, _ b: String, _ c: ModelConfig, ff: Int, suffix: String = "") throws(GGUFError) -> FeedForward {
        FeedForward(gate: try w.matrix(b + "ffn_gate\(suffix).weight", rows: ff, cols: c.width),
                    up: try w.matrix(b + "ffn_up\(suffix).weight", rows: ff, cols: c.width),
                    down: try w.matrix(b + "ffn_down\(suffix).weight", rows: c.width, cols: ff))
    }
}

extension FeedForwardBlock {
    /// A dense SwiGLU block, as wide as its up projection.
    static func dense(_ w: TensorLookup, _ b: String, _ c: ModelConfig) throws(GGUFError) -> FeedForwardBlock {
        .dense(try FeedForward.load(w, b, c, ff: w.file.tensor(b + "ffn_up.weight")?.shape[1] ?? 0))
    }

    /// The routed experts (`ffn_*_exps`, each `expert_feed_forward_length` wide) and, with
    /// `shared`, the shared expert (`ffn_*_shexp`) and its gate.
    static func experts(_ w: TensorLookup, _ b: String, _ c: ModelConfig, normalizeWeights: Bool, shared: Bool = false) throws(GGUFError) -> FeedForwardBlock {
        let ff = w.file.metadata["\(c.architecture).expert_feed_forward_length"]?.integer ?? w.file.tensor(b + "ffn_up_exps.weight")?.shape[1] ?? 0
        let gates = try w.experts(b + "ffn_gate_exps.weight", rows: ff, cols: c.width, count: c.experts)
        let ups = try w.experts(b + "ffn_up_exps.weight", rows: ff, cols: c.width, count: c.experts)
        let downs = try w.experts(b + "ffn_down_exps.weight", rows: c.width, cols: ff, count: c.experts)
        var sharedExpert: (gate: [Float], block: FeedForward)?
        if shared {
            let sff = w.file.metadata["\(c.architecture).expert_shared_feed_forward_length"]?.integer ?? ff
            sharedExpert = (try w.vector(b + "ffn_gate_inp_shexp.weight", c.width), try FeedForward.load(w, b, c, ff: sff, suffix: "_shexp"))
        }
        return .experts(Experts(router: try w.matrix(b + "ffn_gate_inp.weight", rows: c.experts, cols: c.width),
                                experts: (0..<c.experts).map { FeedForward(gate: gates[$0], up: ups[$0], down: downs[$0]) },
                                normalizeWeights: normalizeWeights, shared: sharedExpert))
    }
}
