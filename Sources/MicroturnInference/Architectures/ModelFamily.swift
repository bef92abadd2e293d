/// One model family (`general.architecture`): how its hyper-parameters and weights are read and
/// where its forward pass differs from the others. A family is one file in this folder and one
/// line in `ModelFamilies.all`; what families share (attention, SwiGLU, expert routing, rope) is
/// in LayerWeights.swift and Transformer.swift, and a family picks from it by the weights it loads.
protocol ModelFamily: Sendable {
    /// The `general.architecture` names it runs.
    static var names: [String] { get }
    /// How rope pairs the dimensions it rotates.
    static var rope: Rope { get }
    /// Reads what the family adds to the common hyper-parameters (scales and the like).
    static func configure(_ c: inout ModelConfig, _ file: GGUFFile) throws(GGUFError)
    /// Layer `i`'s weights, by the names llama.cpp's converter gives them.
    static func layer(_ i: Int, _ w: TensorLookup, _ c: ModelConfig) throws(GGUFError) -> Layer
}

extension ModelFamily {
    static func configure(_ c: inout ModelConfig, _ file: GGUFFile) throws(GGUFError) {}
}

/// How rope pairs dimensions (ggml's names): NORM rotates neighbours (2i, 2i+1), NEOX rotates
/// (i, i + d/2).
public enum Rope: Sendable, Equatable { case norm, neox }

/// Every family the engine runs.
enum ModelFamilies {
    static let all: [any ModelFamily.Type] = [Llama.self, Qwen3.self, Qwen3MoE.self, OLMoE.self, Qwen2MoE.self, GraniteMoE.self]

    static func named(_ name: String) -> (any ModelFamily.Type)? { all.first { $0.names.contains(name) } }

    static var names: [String] { all.flatMap { $0.names }.sorted() }
}
