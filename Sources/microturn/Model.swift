import ArgumentParser

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Local models: look inside GGUF files, run them, talk with them, measure them.",
        subcommands: [ModelInspect.self, ModelTokenize.self, ModelLogits.self, ModelGenerate.self, ModelChat.self, ModelPerplexity.self,
                      ModelMoefy.self, ModelProfile.self, ModelSubset.self, ModelTurnEnd.self])
}
