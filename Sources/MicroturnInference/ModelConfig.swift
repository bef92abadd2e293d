/// The hyper-parameters of a model, from GGUF metadata: the common ones here, a family's own in
/// its file (Architectures/).
public struct ModelConfig: Sendable, Equatable {
    /// The family's name (`general.architecture`).
    public var architecture: String
    public var rope: Rope
    public var layers: Int
    public var width: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocabulary: Int
    public var contextLength: Int
    public var rmsEpsilon: Float
    public var ropeBase: Float
    public var ropeDims: Int
    /// Linear rope scaling: positions are multiplied by this (1 / `rope.scaling.factor`).
    public var ropeScale: Float = 1
    /// Experts per layer and how many each token uses (0 and 0 for a dense model).
    public var experts: Int
    public var expertsUsed: Int
    /// Scales some families have (Granite's; 1, and 1/sqrt(head_dim) for attention, elsewhere).
    public var embeddingScale: Float = 1
    public var residualScale: Float = 1
    public var attentionScale: Float
    public var logitScale: Float = 1

    public init(_ file: GGUFFile) throws(GGUFError) {
        guard let name = file.architecture else {
            throw .missingMetadata(path: file.path, key: "general.architecture", architecture: "?")
        }
        guard let family = ModelFamilies.named(name) else {
            throw .badMetadata(path: file.path, key: "general.architecture",
                               reason: "'\(name)' is not an architecture this engine runs (\(ModelFamilies.names.joined(separator: ", ")))")
        }
        func int(_ key: String) throws(GGUFError) -> Int {
            guard let v = try file.required("\(name).\(key)").integer, v > 0, v <= 1 << 24 else {
                throw .badMetadata(path: file.path, key: "\(name).\(key)", reason: "must be a positive integer")
            }
            return v
        }
        /// An optional count: absent gives `fallback`; present, it must be positive (and sane).
        func int(_ key: String, or fallback: Int) throws(GGUFError) -> Int {
            guard let v = file.metadata["\(name).\(key)"] else { return fallback }
            guard let n = v.integer, n > 0, n <= 1 << 24 else {
                throw .badMetadata(path: file.path, key: "\(name).\(key)", reason: "must be a positive integer, got \(v)")
            }
            return n
        }
        func float(_ key: String, _ fallback: Double) -> Float { Float(file.metadata["\(name).\(key)"]?.double ?? fallback) }
        architecture = name
        rope = family.rope
        layers = try int("block_count")
        width = try int("embedding_length")
        heads = try int("attention.head_count")
        kvHeads = try int("attention.head_count_kv", or: heads)
        headDim = try int("attention.key_length", or: max(1, width / heads))
        contextLength = try int("context_length")
        rmsEpsilon = float("attention.layer_norm_rms_epsilon", 1e-5)
        ropeBase = float("rope.freq_base", 10_000)
        ropeDims = try int("rope.dimension_count", or: headDim)
        // Linear scaling ("none" with a factor too, as llama.cpp reads it); YaRN and LongRoPE need
        // more than a factor, and an engine that ignored them would give wrong answers quietly.
        let scaling = file.metadata["\(name).rope.scaling.type"]?.string ?? "none"
        guard scaling == "none" || scaling == "linear" else {
            throw .badMetadata(path: file.path, key: "\(name).rope.scaling.type",
                               reason: "is '\(scaling)'; the engine does rope scaling 'none' and 'linear' only")
        }
        if let factor = (file.metadata["\(name).rope.scaling.factor"] ?? file.metadata["\(name).rope.scale_linear"])?.double, factor != 0 {
            guard factor.isFinite, factor > 0 else {
                throw .badMetadata(path: file.path, key: "\(name).rope.scaling.factor", reason: "must be a positive number, got \(factor)")
            }
            ropeScale = Float(1 / factor)
        }
        guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.array?.count else {
            throw .missingMetadata(path: file.path, key: "tokenizer.ggml.tokens", architecture: name)
        }
        vocabulary = tokens
        experts = try int("expert_count", or: 0)
        expertsUsed = experts > 0 ? try int("expert_used_count") : 0
        attentionScale = 1 / Float(headDim).squareRoot()
        try family.configure(&self, file)
        guard heads % kvHeads == 0, expertsUsed <= experts, ropeDims <= headDim, ropeDims % 2 == 0 else {
            throw .badMetadata(path: file.path, key: name, reason: "inconsistent shapes: \(heads) heads over \(kvHeads) kv heads, \(expertsUsed) of \(experts) experts, rope over \(ropeDims) of \(headDim)")
        }
    }
}
