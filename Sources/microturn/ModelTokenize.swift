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
                 microturn model tokenize --model tiny.gguf --file corpus.txt --no-special --json
        """)

    @Option(help: "The .gguf model file.")
    var model: String

    @Option(help: "The text.")
    var text: String?

    @Option(help: "A text file (UTF-8) to tokenize instead of --text.")
    var file: String?

    @Flag(help: "Treat special-token text as plain text.")
    var noSpecial = false

    @Flag(help: "Print {\"ids\": [...], \"pieces\": [...]}.")
    var json = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give the text with --text or --file (one of them)") }
    }

    func run() throws {
        try withExitCodes {
            let tokenizer = try Tokenizer(file: GGUFFile(path: model))
            let ids = tokenizer.encode(try text ?? TextFile.read(file!, flag: "--file"), special: !noSpecial)
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
