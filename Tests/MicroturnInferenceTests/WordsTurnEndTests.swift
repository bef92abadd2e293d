import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// The local model's judgement of turn ends from words, on the real model.
@Suite(.serialized, .ownThreads) struct WordsTurnEndTests {
    @Test func wordsAreNormalizedAsARecognizerGivesThem() {
        #expect(WordsTurnEnd.normalize("  Could you, uh... tell me?") == "could you uh tell me")
        #expect(WordsTurnEnd.normalize("Let's do 3 sets!") == "let's do 3 sets")
    }

    @Test func aFinishedQuestionScoresAboveWordsThatStopMidPhraseAndTheCacheChangesNothing() throws {
        let judge = try WordsTurnEnd(generator: Generator(path: try ReferenceTools.smolLM2(), threads: 2))
        let finished = ["is my form okay on the squats", "what time does the museum open", "can you count my push ups"]
        let unfinished = ["how do i get to", "let's do three sets of", "i was thinking that maybe", "can you tell me about the"]
        let f = try finished.map { try judge.probability($0) }, u = try unfinished.map { try judge.probability($0) }
        #expect(f.min()! > 10 * u.max()!, "finished \(f), unfinished \(u)")
        // The same words after others (the cache rewound to the shared beginning) and from an
        // empty cache give the same probability.
        let again = try judge.probability(finished[0])
        judge.generator.transformer.reset()
        let fresh = try judge.probability(finished[0])
        #expect(abs(again - f[0]) < 1e-6 && abs(fresh - f[0]) < 1e-6, "\(f[0]) \(again) \(fresh)")
    }
}
