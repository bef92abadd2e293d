import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

@Suite(.ownThreads) struct SamplerTests {
    static let logits: [Float] = [1.0, 3.0, 2.0, 0.5, 2.9, -1]

    static func draws(_ s: Sampler.Settings, _ n: Int = 4000, history: [Int] = []) -> [Int: Int] {
        var sampler = Sampler(s)
        var counts: [Int: Int] = [:]
        for _ in 0..<n { counts[sampler.next(logits, history: history), default: 0] += 1 }
        return counts
    }

    @Test func greedyTakesTheMostLikely() {
        #expect(Self.draws(.init(), 10) == [1: 10])
        var s = Sampler.Settings()
        s.temperature = 1
        s.topK = 1
        #expect(Self.draws(s, 50) == [1: 50], "top-k 1 is greedy")
    }

    @Test func temperatureOneFollowsTheSoftmax() {
        var s = Sampler.Settings()
        s.temperature = 1
        s.seed = 3
        let n = 20_000
        let counts = Self.draws(s, n)
        let e = Self.logits.map { exp(Double($0)) }, total = e.reduce(0, +)
        for (i, p) in e.map({ $0 / total }).enumerated() {
            let seen = Double(counts[i] ?? 0) / Double(n)
            #expect(abs(seen - p) < 4 * (p * (1 - p) / Double(n)).squareRoot() + 0.002, "token \(i): \(seen) vs \(p)")
        }
    }

    @Test func theSameSeedGivesTheSameDraws() {
        var s = Sampler.Settings()
        s.temperature = 0.9
        s.seed = 11
        var a = Sampler(s), b = Sampler(s)
        let x = (0..<100).map { _ in a.next(Self.logits) }, y = (0..<100).map { _ in b.next(Self.logits) }
        #expect(x == y)
        s.seed = 12
        var c = Sampler(s)
        #expect((0..<100).map { _ in c.next(Self.logits) } != x)
    }

    @Test func filtersCutTheCandidates() {
        var s = Sampler.Settings()
        s.temperature = 1
        s.topK = 3
        #expect(Set(Self.draws(s).keys) == [1, 4, 2])
        s.topK = 0
        s.topP = 0.5  // token 1 alone has p 0.40; with token 4 (0.36) the sum passes 0.5
        #expect(Set(Self.draws(s).keys) == [1, 4])
        s.topP = 1
        s.minP = 0.3  // exp(-1) = 0.37 of the best: tokens 1, 4 and 2
        #expect(Set(Self.draws(s).keys) == [1, 4, 2])
    }

    @Test func theRepetitionPenaltyTurnsAwayFromWhatWasSaid() {
        var s = Sampler.Settings()
        s.repetitionPenalty = 1.5
        #expect(Self.draws(s, 5, history: [1]) == [4: 5])
        #expect(Self.draws(s, 5, history: [7, 8]) == [1: 5])
    }
}
