import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: commands that measure, print figures and compare with a peer run side by side.",
        subcommands: [BenchTurns.self, MakeDialogs.self, FitTurns.self, BenchModel.self, BenchReps.self, BenchSoak.self, BenchLink.self, BenchBackground.self, BenchFootprint.self, BenchExperts.self, BenchTurnWords.self, BenchLocalTier.self, BenchEcho.self])
}
