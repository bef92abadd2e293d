import ArgumentParser
import Foundation
import MicroturnInference

struct ModelPerplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "How well a model predicts a text (lower is better), comparable with llama.cpp's perplexity tool.",
        discussion: """
        The text is cut into chunks of --ctx tokens, each read from scratch, and the second half of each \
        chunk is scored, as llama.cpp's perplexity tool does (the same file, text and --ctx give figures \
        that can be set side by side). Needs at least two chunks of text. Progress goes to stderr.

        Example: microturn model perplexity --model models/SmolLM2-135M-Instruct.Q4_1.gguf --text /usr/share/common-licenses/GPL-3 --ctx 512
        """)

    @Option(help: "The .gguf model file.")
    var model: String

    @OptionGroup var threads: EngineThreads

    @Option(help: "The text file (UTF-8).")
    var text: String

    @Option(help: "Tokens per chunk.")
    var ctx = 512

    @Option(help: "Score at most this many chunks (default: all the text has).")
    var chunks: Int?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        try FlagChecks.integer(ctx, "--ctx", 8...1_000_000)
        if let chunks { try FlagChecks.integer(chunks, "--chunks", 1...1_000_000) }
    }

    func run() throws {
        try withExitCodes {
            let body = try TextFile.read(text, flag: "--text")
            let file = try GGUFFile(path: model)
            let tokenizer = try Tokenizer(file: file)
            let transformer = try Transformer(file: file, threads: threads.resolve(), kvCache: threads.precision())
            guard ctx <= transformer.config.contextLength else {
                throw UsageError(message: "--ctx \(ctx) is more than the model's context of \(transformer.config.contextLength) tokens")
            }
            var tokens = tokenizer.encode(body, special: false)
            let bos = tokenizer.addBOS ? tokenizer.bos : nil
            if let bos { tokens.insert(bos, at: 0) }
            let started = Date()
            let result = try Perplexity.measure(transformer, tokens: tokens, context: ctx, bos: bos, maxChunks: chunks) { done, all, ppl in
                FileHandle.standardError.write(Data(String(format: "perplexity: chunk %d/%d, %.4f so far\n", done, all, ppl).utf8))
            }
            let seconds = Date().timeIntervalSince(started)
            if json {
                let out: [String: Any] = ["model": model, "text": text, "ctx": ctx, "tokens": tokens.count, "chunks": result.chunks,
                                          "scored_tokens": result.scoredTokens, "perplexity": result.perplexity,
                                          "perplexity_error": result.perplexityError, "mean_nll": result.meanNLL, "seconds": seconds]
                print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(String(format: "perplexity: %.4f ± %.4f over %d tokens scored (%d chunks of %d; the text has %d tokens)",
                             result.perplexity, result.perplexityError, result.scoredTokens, result.chunks, ctx, tokens.count))
            }
        }
    }
}
