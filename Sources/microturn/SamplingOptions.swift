import ArgumentParser
import MicroturnInference

/// How the next token is chosen, for every command that generates.
struct SamplingOptions: ParsableArguments {
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
        try FlagChecks.number(temp, "--temp", 0...100)
        try FlagChecks.integer(topK, "--top-k", 0...Int(Int32.max))
        try FlagChecks.number(topP, "--top-p", 0...1)
        try FlagChecks.number(minP, "--min-p", 0...1)
        try FlagChecks.number(repeatPenalty, "--repeat-penalty", 0.01...100)
        if greedy && temp > 0 { throw ValidationError("--greedy and --temp > 0 contradict each other") }
    }

    var settings: Sampler.Settings {
        var s = Sampler.Settings()
        s.temperature = greedy ? 0 : temp
        s.topK = topK
        s.topP = topP
        s.minP = minP
        s.repetitionPenalty = repeatPenalty
        s.seed = seed
        return s
    }
}
