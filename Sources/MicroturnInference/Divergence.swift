import Foundation

/// How far a model's predictions are from a reference's on the same text (an MoE or a subset of
/// it against the dense model it came from): each one's perplexity, and the mean KL divergence
/// KL(reference || model) per scored token, over the chunks Perplexity scores.
public enum Divergence {
    /// The reference's log-probabilities at every scored position, kept to compare any number of
    /// models with (chunks x scored positions x vocabulary floats).
    public struct Reference {
        public let tokens: [Int]
        public let context: Int
        public let bos: Int?
        public let chunks: Int
        public let perplexity: Double
        let logProbs: [[Float]]
    }

    public struct Result: Sendable {
        public let perplexity: Double
        /// Mean KL(reference || model), nats per token.
        public let meanKL: Double
        public let scoredTokens: Int
    }

    public static func reference(_ t: Transformer, tokens: [Int], context: Int, bos: Int?, maxChunks: Int?) throws -> Reference {
        let vocab = t.config.vocabulary
        var kept: [[Float]] = [], nll = 0.0, count = 0
        let chunks = try Perplexity.eachChunk(t, tokens: tokens, context: context, bos: bos, maxChunks: maxChunks) { _, _, scored in
            var rows = [Float](repeating: 0, count: scored.count * vocab)
            for (i, (row, next)) in scored.enumerated() {
                let z = Perplexity.logSumExp(row, vocab)
                for v in 0..<vocab { rows[i * vocab + v] = Float(Double(row[v]) - z) }
                nll -= Double(rows[i * vocab + next])
                count += 1
            }
            kept.append(rows)
        }
        return Reference(tokens: tokens, context: context, bos: bos, chunks: chunks, perplexity: exp(nll / Double(count)), logProbs: kept)
    }

    public static func measure(_ t: Transformer, against r: Reference) throws -> Result {
        let vocab = t.config.vocabulary
        var nll = 0.0, kl = 0.0, count = 0
        _ = try Perplexity.eachChunk(t, tokens: r.tokens, context: r.context, bos: r.bos, maxChunks: r.chunks) { c, _, scored in
            for (i, (row, next)) in scored.enumerated() {
                let z = Perplexity.logSumExp(row, vocab)
                nll += z - Double(row[next])
                r.logProbs[c].withUnsafeBufferPointer { ref in
                    let p = ref.baseAddress! + i * vocab
                    var sum = 0.0
                    for v in 0..<vocab {
                        let lp = Double(p[v])
                        sum += exp(lp) * (lp - (Double(row[v]) - z))
                    }
                    kl += sum
                }
                count += 1
            }
        }
        return Result(perplexity: exp(nll / Double(count)), meanKL: kl / Double(count), scoredTokens: count)
    }
}
