import Foundation
import Synchronization

/// Set from any thread to stop a generation at its next token.
public final class Cancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// Streamed generation on one model: a prompt in, text out piece by piece as tokens come, until
/// an end-of-turn token, the token budget, the context window or a cancellation. It runs on the
/// caller's thread (a blocking call: give it a thread of its own, never Swift's cooperative pool)
/// and goes on from what the transformer's key/value cache holds (`Transformer.tokens`), so a
/// conversation that continues the same prefix reads only what is new. Not for use from two
/// threads at once.
public final class Generator {
    public let transformer: Transformer
    public let tokenizer: Tokenizer
    /// The model's chat template, when it has one this engine recognises (nil: no template).
    public let template: ChatTemplate?

    public struct Options: Sendable {
        /// At most this many new tokens (the budget).
        public var budget = 256
        public var sampler = Sampler.Settings()
        /// Positions the prompt and the reply may use together; nil: the model's context length.
        public var contextWindow: Int?
        /// Whether the repetition penalty also counts the prompt's tokens (as llama.cpp does), or
        /// only the reply's: a reply meant to repeat facts the prompt gives must not be pushed off them.
        public var penalizePrompt = true
        public init() {}
    }

    public enum Stop: String, Sendable, Equatable {
        case endOfTurn = "end of turn", budget, cancelled, contextFull = "context full"
    }

    public struct Reply: Sendable, Equatable {
        public var text: String
        public var tokens: [Int]
        public var stop: Stop
        public var promptTokens: Int
        /// Prompt tokens read this time (the rest came from the cache).
        public var promptTokensRead: Int
        /// From the call to the first token chosen, and to the end.
        public var secondsToFirstToken: Double
        public var seconds: Double
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case promptTooLong(tokens: Int, window: Int, budget: Int)
        case noTemplate(path: String)
        case emptyPrompt

        public var description: String {
            switch self {
            case let .promptTooLong(tokens, window, budget):
                "the prompt has \(tokens) tokens; with a budget of \(budget) new tokens it does not fit the context window of \(window) (shorten the prompt or the conversation, or lower the budget)"
            case let .noTemplate(path):
                "\(path): the model has no chat template (tokenizer.chat_template); use `model generate` with a prompt written out"
            case .emptyPrompt:
                "the prompt has no tokens"
            }
        }
    }

    public init(transformer: Transformer, tokenizer: Tokenizer, template: ChatTemplate?) {
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.template = template
    }

    /// A model file's generator; a chat template it has but this engine refuses is an error, and
    /// so is a vocabulary that does not match the model's embedding.
    public convenience init(path: String, threads: Int = 1, kvCache: KVCache.Precision = .f32) throws {
        let file = try GGUFFile(path: path)
        let tokenizer = try Tokenizer(file: file), template = try ChatTemplate(file: file)
        let transformer = try Transformer(file: file, threads: threads, kvCache: kvCache)
        guard tokenizer.tokens.count <= transformer.config.vocabulary else {
            throw GGUFError.badMetadata(path: path, key: "tokenizer.ggml.tokens",
                                        reason: "has \(tokenizer.tokens.count) tokens, but the model's embedding has \(transformer.config.vocabulary) rows; re-convert the model")
        }
        self.init(transformer: transformer, tokenizer: tokenizer, template: template)
    }

    /// The model's context length.
    public var contextLength: Int { transformer.config.contextLength }

    /// Token ids of a conversation through the chat template, BOS first where the vocabulary wants
    /// one. When it does not fit `window - budget` tokens, the oldest turns after the system
    /// message are left out (a long conversation keeps its latest exchanges); the last message
    /// alone too long is an error.
    public func chatPrompt(_ messages: [ChatMessage], budget: Int, window: Int? = nil) throws -> [Int] {
        guard let template else { throw Failure.noTemplate(path: transformer.file.path) }
        let window = min(window ?? contextLength, contextLength)
        var kept = messages
        while true {
            var ids = tokenizer.encode(template.render(kept))
            if tokenizer.addBOS, let bos = tokenizer.bos, ids.first != bos { ids.insert(bos, at: 0) }
            if ids.count + budget <= window { return ids }
            let system = kept.first?.role == .system ? 1 : 0
            guard kept.count - system > 1 else { throw Failure.promptTooLong(tokens: ids.count, window: window, budget: budget) }
            kept.remove(at: system)
        }
    }

    /// Token ids of plain text, BOS first where the vocabulary wants one.
    public func textPrompt(_ text: String) -> [Int] {
        var ids = tokenizer.encode(text)
        if tokenizer.addBOS, let bos = tokenizer.bos { ids.insert(bos, at: 0) }
        return ids
    }

    /// The tokens that end a reply: the end-of-sequence token and the template's end of turn.
    public var stopTokens: Set<Int> {
        var stops = Set<Int>()
        if let eos = tokenizer.eos { stops.insert(eos) }
        if let t = template, let id = tokenizer.encode(t.endOfTurn).onlyElement { stops.insert(id) }
        return stops
    }

    /// Generates after `prompt`, calling `onText` with each piece of text as it becomes whole
    /// characters. Stop tokens are not part of the reply.
    public func generate(prompt: [Int], options: Options = Options(), cancel: Cancellation? = nil,
                         onText: (String) -> Void = { _ in }) throws -> Reply {
        let start = ContinuousClock.now
        guard !prompt.isEmpty else { throw Failure.emptyPrompt }
        let window = min(options.contextWindow ?? contextLength, contextLength)
        guard prompt.count + 1 <= window else { throw Failure.promptTooLong(tokens: prompt.count, window: window, budget: options.budget) }
        // Read only what the cache does not hold (at least the last prompt token, for its logits).
        let shared = min(zip(transformer.tokens, prompt).prefix { $0 == $1 }.count, prompt.count - 1)
        transformer.rewind(to: shared)
        var logits = try transformer.forward(tokens: Array(prompt[shared...]))
        var sampler = Sampler(options.sampler)
        let stops = stopTokens
        var reply = Reply(text: "", tokens: [], stop: .budget, promptTokens: prompt.count, promptTokensRead: prompt.count - shared,
                          secondsToFirstToken: 0, seconds: 0)
        var history = options.penalizePrompt ? prompt : [], unshown = 0
        while true {
            if cancel?.isCancelled == true { reply.stop = .cancelled; break }
            if reply.tokens.count >= options.budget { reply.stop = .budget; break }
            if transformer.position >= window { reply.stop = .contextFull; break }
            let next = sampler.next(logits, history: history)
            if reply.tokens.isEmpty { reply.secondsToFirstToken = Self.seconds(since: start) }
            if stops.contains(next) { reply.stop = .endOfTurn; break }
            reply.tokens.append(next)
            history.append(next)
            // Show what the tokens not yet shown add, once they end on a whole character (a token
            // can end inside one); only those are decoded, so each token costs the same however
            // long the reply.
            let piece = tokenizer.decode(Array(reply.tokens[unshown...]))
            if !piece.isEmpty, !piece.hasSuffix("\u{FFFD}") {
                onText(piece)
                unshown = reply.tokens.count
            }
            guard transformer.position < window else { reply.stop = .contextFull; break }
            logits = try transformer.forward(token: next)
        }
        let rest = tokenizer.decode(Array(reply.tokens[unshown...]))
        if !rest.isEmpty { onText(rest) }
        reply.text = tokenizer.decode(reply.tokens)
        reply.seconds = Self.seconds(since: start)
        return reply
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

extension Array {
    /// The element of a one-element array.
    var onlyElement: Element? { count == 1 ? first : nil }
}
