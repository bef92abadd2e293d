import Foundation

/// Perplexity over a text, computed the way llama.cpp's perplexity tool does so the two compare:
/// the text's tokens (BOS first where the vocabulary wants one) cut into chunks of `context`
/// tokens, each read from an empty cache (its first token replaced by BOS where wanted), and only
/// the second half of each chunk scored: token i + 1 under the logits after token i, for i from
/// context / 2 to context - 2. The result is exp(mean negative log-likelihood).
public struct Perplexity: Sendable, Equatable {
    public var chunks: Int
    public var scoredTokens: Int
    /// Mean negative log-likelihood per scored token (nats).
    public var meanNLL: Double
    /// Its standard error (from the spread of the per-token values).
    public var standardError: Double
    public var perplexity: Double { exp(meanNLL) }
    /// exp(mean ± error) spread, as llama.cpp reports it: perplexity x standard error.
    public var perplexityError: Double { perplexity * standardError }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case tooShort(tokens: Int, context: Int)

        public var description: String {
            switch self {
            case let .tooShort(tokens, context):
                "the text has \(tokens) tokens; perplexity with a context of \(context) needs at least \(2 * context) (two chunks): give a longer text or a smaller --ctx"
            }
        }
    }

    /// Scores `tokens` (already tokenized, BOS included where wanted) in chunks of `context`;
    /// `bos` replaces each chunk's first token when given. `maxChunks` bounds the work;
    /// `progress(chunk, chunks, perplexitySoFar)` is called after each.
    public static func measure(_ transformer: Transformer, tokens: [Int], context: Int, bos: Int?, maxChunks: Int? = nil,
                               progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> Perplexity {
        var sum = 0.0, sumSquares = 0.0, count = 0
        let chunks = try eachChunk(transformer, tokens: tokens, context: context, bos: bos, maxChunks: maxChunks) { c, chunks, scored in
            for (row, next) in scored {
                let nll = logSumExp(row, transformer.config.vocabulary) - Double(row[next])
                sum += nll
                sumSquares += nll * nll
                count += 1
            }
            progress(c + 1, chunks, exp(sum / Double(count)))
        }
        let mean = sum / Double(count)
        let variance = max(0, sumSquares / Double(count) - mean * mean)
        return Perplexity(chunks: chunks, scoredTokens: count, meanNLL: mean,
                          standardError: count > 1 ? (variance / Double(count - 1)).squareRoot() : 0)
    }

    /// Reads each chunk from an empty cache and hands `body` (chunk, chunks, scored) the logits
    /// rows that are scored with the token each should predict; returns the chunk count.
    static func eachChunk(_ transformer: Transformer, tokens: [Int], context: Int, bos: Int?, maxChunks: Int?,
                          _ body: (Int, Int, [(row: UnsafePointer<Float>, next: Int)]) throws -> Void) throws -> Int {
        guard tokens.count >= 2 * context else { throw Failure.tooShort(tokens: tokens.count, context: context) }
        let chunks = min(tokens.count / context, maxChunks ?? Int.max)
        let first = context / 2, vocab = transformer.config.vocabulary
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * context)..<((c + 1) * context)])
            if let bos { chunk[0] = bos }
            transformer.reset()
            let logits = try transformer.forward(tokens: chunk, allLogits: true)
            try logits.withUnsafeBufferPointer { l in
                try body(c, chunks, (first..<(context - 1)).map { i in (l.baseAddress! + i * vocab, tokens[c * context + i + 1]) })
            }
        }
        return chunks
    }

    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var m = -Double.infinity
        for i in 0..<n { m = max(m, Double(x[i])) }
        var s = 0.0
        for i in 0..<n { s += exp(Double(x[i]) - m) }
        return m + log(s)
    }
}
