/// Granite-MoE: Llama's layers and routing, with four scales from its metadata: the embeddings',
/// each residual branch's, attention's (in place of 1/sqrt(head_dim)) and the logits' divisor.
enum GraniteMoE: ModelFamily {
    static let names = ["granitemoe"]
    static let rope = Rope.norm

    static func configure(_ c: inout ModelConfig, _ file: GGUFFile) throws(GGUFError) {
        func float(_ key: String, _ fallback: Float) -> Float { (file.metadata["granitemoe.\(key)"]?.double).map(Float.init) ?? fallback }
        c.embeddingScale = float("embedding_scale", 1)
        c.residualScale = float("residual_scale", 1)
        c.attentionScale = float("attention.scale", c.attentionScale)
        c.logitScale = float("logit_scale", 1)
    }

    static func layer(_ i: Int, _ w: TensorLookup, _ c: ModelConfig) throws(GGUFError) -> Layer {
        try Layer.load(i, w, c, qkNorm: .none) { b throws(GGUFError) in try .experts(w, b, c, normalizeWeights: true) }
    }
}
