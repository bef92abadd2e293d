import ArgumentParser

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Local models: look inside GGUF files.",
        subcommands: [ModelInspect.self, ModelTokenize.self, ModelLogits.self, ModelGenerate.self])
}
