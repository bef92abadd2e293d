import ArgumentParser
import Foundation
import MicroturnInference

struct ModelTurnEnd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "turn-end",
        abstract: "How likely a chat model thinks the user is done, from their words alone.",
        discussion: """
        Prints the probability of the chat template's end-of-turn token right after --text (normalized as a \
        recognizer gives words: lower case, no punctuation), the user's message left open. Near 1: a \
        finished request; near 0: the words stop mid-phrase ("could you uh"). `microturn bench turn-words` \
        measures how well this separates the two.

        Example: microturn model turn-end --model models/SmolLM2-135M-Instruct.Q4_1.gguf --text "what time does the museum open"
        """)

    @Option(help: "The .gguf chat model.")
    var model: String

    @Option(help: "The user's words so far.")
    var text: String

    @OptionGroup var threads: EngineThreads

    func run() throws {
        try withExitCodes {
            let judge = try WordsTurnEnd(generator: Generator(path: model, threads: threads.resolve()))
            let started = Date()
            let p = try judge.probability(text)
            print(String(format: "P(end of turn | \"%@\") = %.4f (%.0f ms)", WordsTurnEnd.normalize(text), p, 1000 * Date().timeIntervalSince(started)))
        }
    }
}
