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
        Stops after -n tokens or at the model's end-of-sequence token.

        Example: microturn model generate --model tiny.gguf --prompt "The cat" -n 32 --temp 0.8 --top-k 40 --seed 7
        """)

    @Option(help: "The .gguf model file.")
    var model: String

    @OptionGroup var threads: EngineThreads

    @Option(help: "The text to continue.")
    var prompt: String

    @Option(name: .short, help: "How many tokens to generate.")
    var n = 32

    @Flag(help: "Always take the most likely token (the default).")
    var greedy = false

    @Option(help: "Sampling temperature (0: greedy).")
    var temp: Float = 0

    @Option(help: "Keep the k most likely tokens (0: all).")
    var topK = 0

    @Option(help: "Keep the most likely tokens whose probabilities add up to p.")
    var topP: Float = 1

    @Option(help: "Drop tokens less likely than this fraction of the most likely.")
    var minP: Float = 0

    @Option(help: "Penalize recently seen tokens (1: off).")
    var repeatPenalty: Float = 1

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    func validate() throws {
        try FlagChecks.integer(n, "-n", 1...1_000_000)
        try FlagChecks.number(temp, "--temp", 0...100)
        try FlagChecks.integer(topK, "--top-k", 0...Int(Int32.max))
        try FlagChecks.number(topP, "--top-p", 0...1)
        try FlagChecks.number(minP, "--min-p", 0...1)
        try FlagChecks.number(repeatPenalty, "--repeat-penalty", 0.01...100)
        if greedy && temp > 0 { throw ValidationError("--greedy and --temp > 0 contradict each other") }
    }

    func run() throws {
        try withExitCodes {
            let file = try GGUFFile(path: model)
            let tokenizer = try Tokenizer(file: file)
            let transformer = try Transformer(file: file, threads: threads.resolve())
            var ids = tokenizer.encode(prompt)
            if tokenizer.addBOS, let bos = tokenizer.bos { ids.insert(bos, at: 0) }
            guard !ids.isEmpty else { throw UsageError(message: "--prompt: the prompt has no tokens") }
            // Refused up front rather than stopping part way: the prompt and -n must both fit.
            let context = transformer.config.contextLength
            guard ids.count + n <= context else {
                throw UsageError(message: "the prompt's \(ids.count) tokens and -n \(n) do not fit the model's context of \(context) tokens; shorten the prompt or lower -n")
            }
            var settings = Sampler.Settings()
            settings.temperature = greedy ? 0 : temp
            settings.topK = topK
            settings.topP = topP
            settings.minP = minP
            settings.repetitionPenalty = repeatPenalty
            settings.seed = seed
            var sampler = Sampler(settings)
            var logits = try transformer.forward(tokens: ids)
            var history = ids, produced: [Int] = []
            for _ in 0..<n {
                let next = sampler.next(logits, history: history)
                if next == tokenizer.eos { break }
                // Print what the new token adds to the text (a token can end inside a character).
                let before = tokenizer.decode(produced)
                produced.append(next)
                history.append(next)
                let after = tokenizer.decode(produced)
                if after.hasPrefix(before) { FileHandle.standardOutput.write(Data(after.dropFirst(before.count).utf8)) }
                if produced.count < n { logits = try transformer.forward(token: next) }
            }
            print("")
        }
    }
}
