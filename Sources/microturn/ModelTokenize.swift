import ArgumentParser
import Foundation
import MicroturnCore
import MicroturnInference

struct ModelTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Turn text into a model's token ids.",
        discussion: """
        Uses the vocabulary in the model file (SentencePiece-style `llama` or byte-level BPE `gpt2`), as \
        llama.cpp does; special tokens written in the text (<|im_end|>, </s>) become their ids unless \
        --no-special. No BOS is added.

        Example: microturn model tokenize --model tiny.gguf --text "Hello world" --json
        """)

    @Option(help: "The .gguf model file.")
    var model: String

    @Option(help: "The text.")
    var text: String

    @Flag(help: "Treat special-token text as plain text.")
    var noSpecial = false

    @Flag(help: "Print {\"ids\": [...], \"pieces\": [...]}.")
    var json = false

    func run() throws {
        try withExitCodes {
            let tokenizer = try Tokenizer(file: GGUFFile(path: model))
            let ids = tokenizer.encode(text, special: !noSpecial)
            if json {
                let pieces = ids.map { JSONText.quote(tokenizer.tokens[$0]) }.joined(separator: ",")
                print("{\"ids\":[\(ids.map(String.init).joined(separator: ","))],\"pieces\":[\(pieces)]}")
            } else {
                print(ids.map(String.init).joined(separator: ","))
                print(ids.map { tokenizer.tokens[$0] }.joined(separator: " | "))
            }
        }
    }
}
