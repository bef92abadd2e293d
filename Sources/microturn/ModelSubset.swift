import ArgumentParser
import Foundation
import MicroturnInference

struct ModelSubset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subset",
        abstract: "Keep the experts a board has room for: an MoE file cut to the most salient experts of a profile, or to the neurons that matter most.",
        discussion: """
        Keeps, in every layer, --keep experts' worth of weights, or as many as fit --budget (weights in MB, \
        the non-expert weights included). llama.cpp loads the result.

        With --profile (made by `model profile` from this same file): the experts with the highest \
        saliency; the router rows and expert tensors are sliced, expert_count set, and expert_used_count \
        capped by what is kept.

        With --refit-text and --dense (a file moefy wrote): the dense model reads the text (and --domain-text, \
        weighed as much), and in every layer the neurons whose loss the rest can least make up for are \
        kept, chosen one by one, regrouped into experts and their down projections refitted (least squares \
        against the dense model's output), in the type of the gate and up rows (Q4_1 for SmolLM2, not \
        moefy's Q8_0, so --budget holds more experts' worth); every kept expert is used. For the same bytes \
        this keeps far more of the dense model than whole experts do (README). tools/distill-subset.py can then train \
        the kept experts further.

        Examples:
          microturn model subset --model models/smollm2-moe16.gguf --profile fitness.profile.json --budget 80MB --out models/fitness.gguf
          microturn model subset --model moe48.gguf --refit-text corpus/all.train.txt --domain-text corpus/fitness.train.txt \\
              --dense models/SmolLM2-135M-Instruct.Q4_1.gguf --budget 81MB --out fitness.gguf
        """)

    @Option(help: "The MoE .gguf model.")
    var model: String

    @Option(help: "A profile of this model (`microturn model profile --out`): keep its most salient experts.")
    var profile: String?

    @Option(help: "Experts to keep per layer.")
    var keep: Int?

    @Option(help: "Or: the most weights may take, in MB (\"48MB\" or \"48\").")
    var budget: String?

    @Option(help: "Experts each token uses, with --profile (default: the file's, capped by what is kept).")
    var used: Int?

    @Option(help: "Or: choose the neurons to keep by the dense model's run over this text (UTF-8), and refit them so they stand in for the dropped ones; needs --dense. A broad text does best even for one domain's subset (all.train.txt of tools/make-corpus.py; see README).")
    var refitText: String?

    @Option(help: "With --refit-text: the subset's own domain (e.g. fitness.train.txt), read as far as --refit-tokens and weighed as much as --refit-text.")
    var domainText: String?

    @Option(help: "The dense model the MoE was made from (for --refit-text).")
    var dense: String?

    @Option(help: "Tokens of --refit-text (and of --domain-text) the refit reads (SmolLM2, 32,768 tokens: about 4 minutes each on 2 threads, 1 GB each).")
    var refitTokens = 32768

    @Option(help: "The subset .gguf file to write.")
    var out: String

    @OptionGroup var threads: EngineThreads

    func validate() throws {
        guard (keep == nil) != (budget == nil) else { throw ValidationError("give either --keep or --budget") }
        if let keep { try FlagChecks.integer(keep, "--keep", 1...4096) }
        if let budget, Self.megabytes(budget) == nil { throw ValidationError("--budget must be a size in MB such as 48MB, got '\(budget)'") }
        guard (refitText == nil) == (dense == nil) else { throw ValidationError("--refit-text and --dense go together") }
        guard (profile == nil) != (refitText == nil) else {
            throw ValidationError("give either --profile (keep its most salient experts) or --refit-text with --dense (keep the neurons that matter most)")
        }
        guard domainText == nil || refitText != nil else { throw ValidationError("--domain-text goes with --refit-text") }
        guard used == nil || profile != nil else { throw ValidationError("--used goes with --profile: with --refit-text every kept expert is used") }
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
            // A profile of another model is the first thing to say (before what would fit).
            let p = try profile.map { path in
                let p: ExpertProfile
                do { p = try ExpertProfile.load(path) } catch { throw UsageError(message: "--profile \(error)") }
                try p.check(against: file, layers: config.layers, experts: config.experts)
                return p
            }
            guard config.experts > 0 else { throw UsageError(message: ExpertSubset.noExperts(model)) }
            // Regrouped neurons have their down projections written in the dense model's type.
            let sizes = ExpertSubset.Sizes(file, experts: config.experts, downType: profile == nil ? ExpertSubset.regroupedDownType(file) : nil)
            let count: Int
            if let keep {
                guard keep <= config.experts else {
                    throw UsageError(message: "--keep \(keep): the model has \(config.experts) experts per layer; keep 1 to \(config.experts)")
                }
                count = keep
            } else {
                count = try sizes.keepable(within: Self.megabytes(budget!)!)
            }
            let writer: GGUFWriter
            let usedCount: Int
            if let p {
                usedCount = min(used ?? config.expertsUsed, count)
                writer = try ExpertSubset.writer(file, config, kept: p.mostSalient(count), used: usedCount)
            } else {
                // Said before the dense model reads the texts (minutes), not after.
                do { _ = try ExpertSubset.regrouping(file, config) } catch { throw UsageError(message: "--refit-text: \(error)") }
                let denseFile = try GGUFFile(path: dense!)
                let denseModel = try Transformer(file: denseFile, threads: threads.resolve(), kvCache: .f32)
                guard denseModel.config.experts == 0, denseModel.config.layers == config.layers, denseModel.config.width == config.width else {
                    throw UsageError(message: "--dense \(dense!) is not the dense model \(model) was made from (layers, width or experts differ)")
                }
                let tokenizer = try Tokenizer(file: denseFile)
                var statistics: DownRefit.Statistics?
                for (flag, path) in [("--refit-text", refitText!), ("--domain-text", domainText)].compactMap({ f, p in p.map { (f, $0) } }) {
                    let ids = Array(tokenizer.encode(try TextFile.read(path, flag: flag), special: false).prefix(refitTokens))
                    guard ids.count >= 64 else { throw UsageError(message: "\(flag) \(path): only \(ids.count) tokens; the refit needs at least 64") }
                    let s = try DownRefit.Statistics.collect(denseModel, corpus: ids, limit: ids.count, context: 256) { done, all in
                        if done % 4096 < 256 || done == all { FileHandle.standardError.write(Data("subset: the dense model read \(done) of \(all) tokens of \(path)\n".utf8)) }
                    }
                    statistics = statistics.map { $0.weighedEqually(with: s) } ?? s
                }
                FileHandle.standardError.write(Data("subset: choosing \(count) experts' worth of neurons in each of \(config.layers) layers\n".utf8))
                usedCount = count
                writer = try ExpertSubset.regroupedWriter(file, config, statistics: statistics!, experts: count, threads: threads.resolve())
            }
            try writer.write(to: out)
            let bytes = sizes.otherBytes + count * sizes.bytesPerExpert
            print(String(format: "subset: %@: %d of %d experts per layer%@, %d used per token; weights %.1f MB (experts %.1f MB of %.1f MB, %.1f %%)",
                         out, count, config.experts, profile == nil ? " (neurons chosen and regrouped)" : "", usedCount, Double(bytes) / 1e6,
                         Double(count * sizes.bytesPerExpert) / 1e6, Double(sizes.expertBytes) / 1e6,
                         100 * Double(count * sizes.bytesPerExpert) / Double(max(1, sizes.expertBytes))))
        }
    }
}
