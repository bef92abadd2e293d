import ArgumentParser
import Foundation
import MicroturnInference

struct ModelGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a model, printing tokens as they come.",
        discussion: """
        Greedy by default (--greedy, or --temp 0); with --temp T the next token is drawn after top-k, \
        top-p and min-p filtering and a repetition penalty, from --seed S (the same seed gives the same text). \
        Stops after -n tokens or at the model's end-of-sequence (or end-of-turn) token. For a conversation with an instruct model, use `model chat`.

        Example: microturn model generate --model tiny.gguf --prompt "The cat" -n 32 --temp 0.8 --top-k 40 --seed 7
        """)

    @Option(help: "The .gguf model file.")
    var model: String

    @OptionGroup var threads: EngineThreads

    @Option(help: "The text to continue.")
    var prompt: String

    @Option(name: .short, help: "How many tokens to generate.")
    var n = 32

    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        try FlagChecks.integer(n, "-n", 1...1_000_000)
    }

    func run() throws {
        try withExitCodes {
            let file = try GGUFFile(path: model)
            // (A chat template the engine refuses does not matter to plain continuation.)
            let generator = Generator(transformer: try Transformer(file: file, threads: threads.resolve(), kvCache: threads.precision()), tokenizer: try Tokenizer(file: file),
                                      template: try? ChatTemplate(file: file))
            let ids = generator.textPrompt(prompt)
            guard !ids.isEmpty else { throw UsageError(message: "--prompt: the prompt has no tokens") }
            // Refused up front rather than stopping part way: the prompt and -n must both fit.
            let context = generator.contextLength
            guard ids.count + n <= context else {
                throw UsageError(message: "the prompt's \(ids.count) tokens and -n \(n) do not fit the model's context of \(context) tokens; shorten the prompt or lower -n")
            }
            var options = Generator.Options()
            options.budget = n
            options.sampler = sampling.settings
            _ = try generator.generate(prompt: ids, options: options) { FileHandle.standardOutput.write(Data($0.utf8)) }
            print("")
        }
    }
}
