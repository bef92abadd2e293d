/// OLMoE: NEOX rope, RMS norms over all heads' queries and keys, routed experts whose softmax
/// weights are used as they are.
enum OLMoE: ModelFamily {
    static let names = ["olmoe"]
    static let rope = Rope.neox

    static func layer(_ i: Int, _ w: TensorLookup, _ c: ModelConfig) throws(GGUFError) -> Layer {
        try Layer.load(i, w, c, qkNorm: .whole) { b throws(GGUFError) in try .experts(w, b, c, normalizeWeights: false) }
    }
}
