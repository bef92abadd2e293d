import ArgumentParser
import Foundation
import MicroturnInference
import MicroturnInteraction

struct ModelTurnEnd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "turn-end",
        abstract: "How likely a chat model thinks the user is done, from their words alone.",
        discussion: """
        Prints P(end of turn) after --text (normalized as a recognizer gives words: lower case, no \
        punctuation), the user's message left open: from the model's probabilities of what would come next, \
        an ender (its end-of-turn token, ".", "?", "!") or a mark that it goes on (",", "-", "...", ";"), \
        weighed by WordsTurnEnd.Weights.fitted (bench fit-turns --help), and those two probabilities. --after \
        gives what the device said last, as a session does: "thank you" after an answer ends a message more \
        surely than it opens one. Near 1: \
        a finished request; near 0: the words stop mid-phrase ("could you uh"). `microturn bench turn-words` \
        measures how well this separates the two.

        With --replies it also prints what the device's local tier would say to these words (the way a session with \
        model.path does): the acknowledgement of a request going to the background ("Let me check ...", or the \
        fixed phrase when the model's line is unusable) and its own short answer for when the link is down. With \
        model.resident_experts set (--config or --board), an MoE model keeps only that many experts per layer in \
        memory, as a session does, and the line after says how the others' picks were served.

        Example: microturn model turn-end --model models/SmolLM2-135M-Instruct.Q4_1.gguf --text "what time does the museum open"
        """)

    @Option(help: "The .gguf chat model.")
    var model: String

    @Option(help: "The user's words so far.")
    var text: String

    @Option(help: "What the device said last, before these words (the judgement reads them as its reply).")
    var after: String?

    @Flag(help: "Also print the local tier's acknowledgement and offline answer, with their times.")
    var replies = false

    @OptionGroup var threads: EngineThreads

    func run() throws {
        try withExitCodes {
            if replies { return try printReplies() }
            let judge = try WordsTurnEnd(generator: Generator(path: model, threads: threads.resolve()))
            let started = Date()
            let next = try judge.next(text, after: after)
            print(String(format: "P(end of turn | \"%@\") = %.4f (%.0f ms); next: an ender %.4f, a goes-on mark %.4f",
                         WordsTurnEnd.normalize(text), judge.weights.probability(next), 1000 * Date().timeIntervalSince(started), next.end, next.goesOn))
        }
    }

    /// Through `LocalModel`, as a session runs it: the draft of a stop, then the offline answer.
    private func printReplies() throws {
        let experts = try LocalModel.Experts.configured(threads.source.load().model)
        let model = try LocalModel(path: self.model, threads: threads.resolve(), kvCache: threads.precision(), experts: experts)
        model.draft(stop: 1, words: text, after: after)
        model.answer(turn: 1, words: text)
        var results: [LocalModel.Result] = []
        while results.count < 3, model.waitForResult(timeoutMs: 60_000) { results += model.take() }
        for r in results {
            switch r {
            case let .endOfTurn(_, p, seconds):
                print(String(format: "P(end of turn) = %@ (%.0f ms)", p.map { String(format: "%.4f", $0) } ?? "- (no words)", seconds * 1000))
            case let .acknowledgement(_, line, seconds):
                print(String(format: "acknowledgement: %@ (%.0f ms from the stop)", line ?? "(unusable: the fixed phrase is said)", seconds * 1000))
            case let .answer(_, line, seconds):
                print(String(format: "offline answer: %@ (%.0f ms)", line ?? "(none usable)", seconds * 1000))
            case let .failed(why):
                throw ValidationError(why)
            }
        }
        model.settle()
        if let (kept, all, s) = model.expertStats {
            let picks = Double(max(1, s.resident + s.hits + s.misses))  // (a rerouted pick is served by a resident one)
            let served = experts?.mode == .reroute
                ? String(format: "reroute: %.1f %% of picks rerouted", 100 * Double(s.rerouted) / picks)
                : String(format: "page: %.1f %% of picks from memory, %.1f ms reading experts in", 100 * Double(s.resident + s.hits) / picks, Double(s.stallNanoseconds) / 1e6)
            print("experts: \(kept) of \(all) per layer resident (the profile's most salient), \(served) (with the warm-up)")
        }
    }
}
