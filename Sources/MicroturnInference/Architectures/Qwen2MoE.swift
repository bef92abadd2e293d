/// Qwen2-MoE (Qwen1.5-MoE): NEOX rope, routed experts with their softmax weights as they are, plus
/// a shared expert every token goes through, scaled by sigmoid(gate . x).
enum Qwen2MoE: ModelFamily {
    static let names = ["qwen2moe"]
    static let rope = Rope.neox

    static func layer(_ i: Int, _ w: TensorLookup, _ c: ModelConfig) throws(GGUFError) -> Layer {
        try Layer.load(i, w, c, qkNorm: .none) { b throws(GGUFError) in try .experts(w, b, c, normalizeWeights: false, shared: true) }
    }
}
