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
        capped by what is kept. llama.cpp loads the result.

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

    @Option(help: "The subset .gguf file to write.")
    var out: String

    func validate() throws {
        guard (keep == nil) != (budget == nil) else { throw ValidationError("give either --keep or --budget") }
        if let keep { try FlagChecks.integer(keep, "--keep", 1...4096) }
        if let budget, Self.megabytes(budget) == nil { throw ValidationError("--budget must be a size in MB such as 48MB, got '\(budget)'") }
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
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: profile)) } catch {
                throw UsageError(message: "--profile \(profile): cannot read it (\(error.localizedDescription))")
            }
            let p: ExpertProfile
            do { p = try JSONDecoder().decode(ExpertProfile.self, from: data) } catch {
                throw UsageError(message: "--profile \(profile): not a profile that `microturn model profile --out` wrote (\(error))")
            }
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
            let writer = try ExpertSubset.writer(file, config, kept: p.mostSalient(count))
            try writer.write(to: out)
            let bytes = sizes.otherBytes + count * sizes.bytesPerExpert
            print(String(format: "subset: %@: %d of %d experts per layer, %d used per token; weights %.1f MB (experts %.1f MB of %.1f MB)",
                         out, count, config.experts, min(count, config.expertsUsed), Double(bytes) / 1e6,
                         Double(count * sizes.bytesPerExpert) / 1e6, Double(sizes.expertBytes) / 1e6))
        }
    }
}
