/// Qwen3-MoE: Qwen3's attention, routed experts with their weights renormalized.
enum Qwen3MoE: ModelFamily {
    static let names = ["qwen3moe"]
    static let rope = Rope.neox

    static func layer(_ i: Int, _ w: TensorLookup, _ c: ModelConfig) throws(GGUFError) -> Layer {
        try Layer.load(i, w, c, qkNorm: .perHead) { b throws(GGUFError) in try .experts(w, b, c, normalizeWeights: true) }
    }
}
