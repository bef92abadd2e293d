/// Llama (1-3, SmolLM, TinyLlama...) and Mixtral, which llama.cpp writes as llama with experts:
/// NORM rope, SwiGLU, or routed experts with their weights renormalized.
enum Llama: ModelFamily {
    static let names = ["llama"]
    static let rope = Rope.norm

    static func layer(_ i: Int, _ w: TensorLookup, _ c: ModelConfig) throws(GGUFError) -> Layer {
        try Layer.load(i, w, c, qkNorm: .none) { b throws(GGUFError) in
            c.experts > 0 ? try .experts(w, b, c, normalizeWeights: true) : try .dense(w, b, c)
        }
    }
}
