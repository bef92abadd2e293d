/// Qwen3 (dense): NEOX rope, RMS norms on each head's query and key.
enum Qwen3: ModelFamily {
    static let names = ["qwen3"]
    static let rope = Rope.neox

    static func layer(_ i: Int, _ w: TensorLookup, _ c: ModelConfig) throws(GGUFError) -> Layer {
        try Layer.load(i, w, c, qkNorm: .perHead) { b throws(GGUFError) in try .dense(w, b, c) }
    }
}
