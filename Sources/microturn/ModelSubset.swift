import ArgumentParser
import Foundation
import MicroturnInference

struct ModelSubset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subset",
        abstract: "Keep the experts a board has room for: an MoE file cut to the most salient experts of a profile.",
        discussion: """
        Keeps, in every layer, the --keep experts with the highest saliency in --profile (made by `model \
        profile` from this same file), or as many as fit --budget (weights in MB, the non-expert weights \
        included). The router rows and expert tensors are sliced, expert_count set, and expert_used_count \
        capped by what is kept. llama.cpp loads the result. With --refit-text and --dense, the kept experts' \
        down projections are refitted (least squares against the dense model's activations on that text) \
        to stand in for the dropped ones; tools/distill-subset.py can then train the kept experts further.

        Example: microturn model subset --model models/smollm2-moe16.gguf --profile fitness.profile.json --budget 80MB --out models/fitness.gguf
        """)

    @Option(help: "The MoE .gguf model.")
    var model: String

    @Option(help: "A profile of this model (`microturn model profile --out`).")
    var profile: String

    @Option(help: "Experts to keep per layer.")
    var keep: Int?

    @Option(help: "Or: the most weights may take, in MB (\"48MB\" or \"48\").")
    var budget: String?

    @Option(help: "Experts each token uses (default: the file's, capped by what is kept; all kept ones with --refit-text).")
    var used: Int?

    @Option(help: "Refit the kept experts' down projections on this text (UTF-8) so they stand in for the dropped ones; needs --dense. Every kept expert is then used. A broad text does best even for one domain's subset (all.train.txt of tools/make-corpus.py; see README).")
    var refitText: String?

    @Option(help: "The dense model the MoE was made from (for --refit-text).")
    var dense: String?

    @Option(help: "Tokens of --refit-text the refit reads (SmolLM2, 32,768 tokens: about 3 minutes on 2 threads, 1 GB).")
    var refitTokens = 32768

    @Option(help: "The subset .gguf file to write.")
    var out: String

    @OptionGroup var threads: EngineThreads

    func validate() throws {
        guard (keep == nil) != (budget == nil) else { throw ValidationError("give either --keep or --budget") }
        if let keep { try FlagChecks.integer(keep, "--keep", 1...4096) }
        if let budget, Self.megabytes(budget) == nil { throw ValidationError("--budget must be a size in MB such as 48MB, got '\(budget)'") }
        guard (refitText == nil) == (dense == nil) else { throw ValidationError("--refit-text and --dense go together") }
        try FlagChecks.integer(refitTokens, "--refit-tokens", 64...1_000_000)
        if let used { try FlagChecks.integer(used, "--used", 1...4096) }
    }

    static func megabytes(_ s: String) -> Int? {
        let number = s.lowercased().hasSuffix("mb") ? String(s.dropLast(2)) : s
        guard let v = Double(number.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0, v < 1e7 else { return nil }
        return Int(v * 1e6)
    }

    func run() throws {
        try withExitCodes {
            let file = try GGUFFile(path: model)
            let config = try ModelConfig(file)
            let p: ExpertProfile
            do { p = try ExpertProfile.load(profile) } catch { throw UsageError(message: "--profile \(error)") }
            try p.check(against: file, layers: config.layers, experts: config.experts)
            let sizes = ExpertSubset.Sizes(file, experts: config.experts)
            let count: Int
            if let keep {
                guard keep <= config.experts else {
                    throw UsageError(message: "--keep \(keep): the model has \(config.experts) experts per layer; keep 1 to \(config.experts)")
                }
                count = keep
            } else {
                count = try sizes.keepable(within: Self.megabytes(budget!)!)
            }
            let kept = p.mostSalient(count)
            var downs: [[Float]]?
            if let refitText, let dense {
                guard let neurons = MoEfication.neurons(of: file, layers: config.layers, experts: config.experts) else {
                    throw UsageError(message: "--refit-text: \(model) does not say which dense neurons its experts hold (only files `microturn model moefy` wrote do)")
                }
                let denseFile = try GGUFFile(path: dense)
                let denseModel = try Transformer(file: denseFile, threads: threads.resolve(), kvCache: .f32)
                guard denseModel.config.experts == 0, denseModel.config.layers == config.layers, denseModel.config.width == config.width else {
                    throw UsageError(message: "--dense \(dense) is not the dense model \(model) was made from (layers, width or experts differ)")
                }
                var ids = try Tokenizer(file: denseFile).encode(try TextFile.read(refitText, flag: "--refit-text"), special: false)
                ids = Array(ids.prefix(refitTokens))
                guard ids.count >= 64 else { throw UsageError(message: "--refit-text \(refitText): only \(ids.count) tokens; the refit needs at least 64") }
                let statistics = try DownRefit.Statistics.collect(denseModel, corpus: ids, limit: ids.count, context: 256) { done, all in
                    if done % 4096 < 256 || done == all { FileHandle.standardError.write(Data("subset: the dense model read \(done) of \(all) tokens\n".utf8)) }
                }
                downs = try DownRefit.fit(statistics, kept: zip(kept, neurons).map { k, n in k.flatMap { n[$0] } })
            }
            let usedCount = used ?? (downs == nil ? min(count, config.expertsUsed) : count)
            let writer = try ExpertSubset.writer(file, config, kept: kept, used: usedCount, downs: downs)
            try writer.write(to: out)
            let bytes = sizes.otherBytes + count * sizes.bytesPerExpert
            print(String(format: "subset: %@: %d of %d experts per layer, %d used per token; weights %.1f MB (experts %.1f MB of %.1f MB)",
                         out, count, config.experts, min(usedCount, count), Double(bytes) / 1e6,
                         Double(count * sizes.bytesPerExpert) / 1e6, Double(sizes.expertBytes) / 1e6))
        }
    }
}
