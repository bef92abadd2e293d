import ArgumentParser
import Foundation
import MicroturnInference

struct ModelMoefy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moefy",
        abstract: "Turn a dense model into a Mixture of Experts (MoEfication) that llama.cpp and the engine both run.",
        discussion: """
        Reads --text through the dense model, splits each layer's feed-forward neurons into --experts \
        groups that fire together on it (balanced k-means over their activations), and gives each layer \
        a router that predicts which experts matter for a token (ridge regression on the same \
        activations). The result is a llama-architecture MoE (Mixtral's form): gate and up rows are the \
        dense ones as they are; down columns are re-sliced (exactly for F32/F16/BF16 files, as Q8_0 \
        otherwise).

        With --router uniform and --used equal to --experts, the MoE computes the dense model exactly \
        (a check of the conversion). Fewer --used trades quality for speed; `microturn bench experts` \
        measures it, `microturn model subset` drops experts a board has no room for.

        Example: microturn model moefy --model models/SmolLM2-135M-Instruct.Q4_1.gguf --text corpus/train.txt \
        --experts 16 --used 8 --out models/smollm2-moe16.gguf
        """)

    @Option(help: "The dense .gguf model (llama architecture).")
    var model: String

    @Option(help: "The corpus (UTF-8 text) the experts and routers are fitted on.")
    var text: String

    @Option(help: "Experts per layer (must divide the feed-forward width).")
    var experts = 16

    @Option(help: "Experts each token uses (1 to --experts).")
    var used = 8

    @Option(help: "How the routers are made: fitted, or uniform (all logits zero).")
    var router = MoEfication.Router.fitted.rawValue

    @Option(help: "Corpus tokens whose activations the fit uses (more: a better fit, more memory: about 8.5 KB a token a layer).")
    var tokens = 4096

    @Option(help: "Seed of the clustering's starting centres.")
    var seed: UInt64 = 1

    @Option(help: "The MoE .gguf file to write.")
    var out: String

    @OptionGroup var threads: EngineThreads

    func validate() throws {
        guard MoEfication.Router(rawValue: router) != nil else { throw ValidationError("--router must be fitted or uniform, got '\(router)'") }
        try FlagChecks.integer(experts, "--experts", 2...256)
        try FlagChecks.integer(used, "--used", 1...256)
        try FlagChecks.integer(tokens, "--tokens", 64...1_000_000)
    }

    func run() throws {
        try withExitCodes {
            let corpus = try TextFile.read(text, flag: "--text")
            let file = try GGUFFile(path: model)
            let transformer = try Transformer(file: file, threads: threads.resolve(), kvCache: .f32)
            let options = MoEfication.Options(experts: experts, used: used, router: MoEfication.Router(rawValue: router)!, seed: seed,
                                              sampleTokens: tokens)
            try MoEfication.check(transformer.config, file, options)
            let tokenizer = try Tokenizer(file: file)
            let ids = tokenizer.encode(corpus, special: false)
            guard ids.count >= 64 else { throw UsageError(message: "--text \(text): only \(ids.count) tokens; the fit needs at least 64 (a few paragraphs)") }
            let started = Date()
            let samples = try MoEfication.Samples.collect(transformer, corpus: ids, limit: tokens, context: options.context) { done, all in
                note("moefy: read \(done) of \(min(all, ids.count)) tokens")
            }
            let plans = try MoEfication.plan(samples, file: file, options: options) { done, all in note("moefy: split and fitted layer \(done) of \(all)") }
            let provenance: [(String, GGUFValue)] = [
                ("microturn.moefy.source", .string(URL(fileURLWithPath: model).lastPathComponent)),
                ("microturn.moefy.router", .string(router)),
                ("microturn.moefy.tokens", .uint(UInt64(samples.tokens), bits: 32)),
                ("microturn.moefy.seed", .uint(seed, bits: 64)),
            ]
            let writer = try MoEfication.writer(file, transformer.config, plans: plans, options: options, provenance: provenance)
            try writer.write(to: out) { done, all in if done % 50 == 0 || done == all { note("moefy: wrote \(done) of \(all) tensors") } }
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print(String(format: "moefy: %@: %d layers of %d experts (%d neurons each), %d used per token, router %@, fitted on %d tokens in %.1f s; %.1f MB",
                         out, plans.count, experts, plans[0].neurons[0].count, used, router, samples.tokens, Date().timeIntervalSince(started),
                         Double(size) / 1e6))
        }
    }

    private func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}
