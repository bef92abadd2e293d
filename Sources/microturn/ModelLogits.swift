import ArgumentParser
import Foundation
import MicroturnInference

struct ModelLogits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Run a model on token ids and print or save its logits.",
        discussion: """
        The logits of the last position, or of every position with --all. --out writes raw little-endian \
        float32, row-major (one row of vocabulary size per position); --json prints them. Without either, \
        the top 5 tokens of each row are printed.

        Example: microturn model logits --model tiny.gguf --tokens 1,15,27 --all --out logits.f32
        """)

    @Option(help: "The .gguf model file.")
    var model: String

    @OptionGroup var threads: EngineThreads

    @Option(help: "Comma-separated token ids, e.g. 1,15,27.")
    var tokens: String

    @Flag(help: "Logits of every position, not only the last.")
    var all = false

    @Option(help: "Write the logits here as raw float32.")
    var out: String?

    @Flag(help: "Print the logits as JSON arrays.")
    var json = false

    func run() throws {
        try withExitCodes {
            let ids = try tokens.split(separator: ",").map { s -> Int in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                    throw UsageError(message: "--tokens: '\(s)' is not a token id (comma-separated non-negative integers)")
                }
                return v
            }
            guard !ids.isEmpty else { throw UsageError(message: "--tokens: give at least one token id") }
            let transformer = try Transformer(path: model, threads: threads.resolve(), kvCache: threads.precision())
            if let bad = ids.first(where: { $0 >= transformer.config.vocabulary }) {
                throw UsageError(message: "--tokens: \(bad) is outside the vocabulary (0..<\(transformer.config.vocabulary))")
            }
            guard ids.count <= transformer.config.contextLength else {
                throw UsageError(message: "--tokens: \(ids.count) tokens do not fit the model's context of \(transformer.config.contextLength)")
            }
            let flat = try transformer.forward(tokens: ids, allLogits: all), vocab = transformer.config.vocabulary
            let rows = stride(from: 0, to: flat.count, by: vocab).map { Array(flat[$0..<($0 + vocab)]) }
            if let out {
                var data = Data()
                for row in rows { row.withUnsafeBytes { data.append(contentsOf: $0) } }
                do { try data.write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                    throw UsageError(message: "cannot write \(out): \(error.localizedDescription)")
                }
            }
            if json {
                print("[" + rows.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]")
            } else if out == nil {
                for (k, row) in rows.enumerated() {
                    let top = row.indices.sorted { row[$0] > row[$1] }.prefix(5)
                    print("position \(all ? k : ids.count - 1): " + top.map { String(format: "%d (%.4f)", $0, row[$0]) }.joined(separator: "  "))
                }
            }
        }
    }
}
