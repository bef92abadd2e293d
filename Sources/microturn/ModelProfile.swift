import ArgumentParser
import Foundation
import MicroturnInference

struct ModelProfile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "How much each expert of an MoE model is used on a text (what `model subset` keeps).",
        discussion: """
        Runs --text through the model and reports, per layer and expert, how often the router chose it, \
        its total gate weight, and its saliency (mean over tokens of gate weight times the norm of its \
        output). --out writes the profile as JSON for `model subset`; it names the model (a fingerprint \
        of its routers), so it is not applied to another file.

        Example: microturn model profile --model models/smollm2-moe16.gguf --text corpus/fitness.train.txt --out fitness.profile.json
        """)

    @Option(help: "The MoE .gguf model.")
    var model: String

    @Option(help: "The text (UTF-8) to profile on.")
    var text: String

    @Option(help: "Read at most this many tokens of it.")
    var tokens = 8192

    @Option(help: "Write the profile here (JSON).")
    var out: String?

    @Flag(help: "Print the profile as JSON instead of a table.")
    var json = false

    @OptionGroup var threads: EngineThreads

    func validate() throws { try FlagChecks.integer(tokens, "--tokens", 16...10_000_000) }

    func run() throws {
        try withExitCodes {
            let corpus = try TextFile.read(text, flag: "--text")
            let file = try GGUFFile(path: model)
            let transformer = try Transformer(file: file, threads: threads.resolve(), kvCache: .f32)
            let ids = try Tokenizer(file: file).encode(corpus, special: false)
            guard ids.count >= 16 else { throw UsageError(message: "--text \(text): only \(ids.count) tokens; give a longer text") }
            let profile = try ExpertProfile.measure(transformer, corpus: ids, context: 256, maxTokens: tokens) { done, all in
                FileHandle.standardError.write(Data("profile: \(done) of \(all) tokens\n".utf8))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(profile)
            if let out {
                do { try data.write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                    throw UsageError(message: "--out \(out): cannot write it (\(error.localizedDescription))")
                }
            }
            if json { print(String(decoding: data, as: UTF8.self)); return }
            print("profile of \(profile.model) on \(profile.tokens) tokens of \(text): per layer, experts by saliency (chosen share, saliency)")
            for (l, layer) in profile.layers.enumerated() {
                let ranked = layer.indices.sorted { layer[$0].saliency > layer[$1].saliency }
                let cells = ranked.map { String(format: "%d:%.0f%%/%.3f", $0, 100 * Double(layer[$0].chosen) / Double(max(1, profile.tokens)), layer[$0].saliency) }
                print(String(format: "layer %2d  ", l) + cells.joined(separator: " "))
            }
        }
    }
}
