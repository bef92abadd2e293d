import Foundation

/// The probability that a user's message ends where its words stop, judged from the words alone
/// by a chat model: the conversation through the model's chat template with the user's last
/// message left open (nothing after its words), and what the model gives next. Two of its
/// next-token probabilities speak: what ends a message (the template's end-of-turn token, or a
/// sentence's final punctuation) and what says it goes on (a comma, a dash, "...", ";").
/// (LiveKit's first turn detector used the end-of-turn token alone, with SmolLM2-135M fine-tuned
/// for it; the model as published gives that token almost nothing after unpunctuated words, and
/// puts the same judgement into "?", "." and "!".) A finished question often goes on with " for"
/// or " to" as likely text, so the end's probability alone holds it; a fronted phrase ("tomorrow
/// morning") ends on "." as often as a statement but on "," far more. `Weights` weigh the two,
/// fitted on the training dialogs' stops and the word-prefixes of their turns. The words are normalized the way a recognizer gives
/// them (lower case, no punctuation), so a written "?" cannot give the answer away.
/// Conversations that share a beginning reuse the key/value cache of it: a growing transcript
/// costs only its new tokens.
public final class WordsTurnEnd {
    public let generator: Generator
    /// The end-of-turn token and the final-punctuation ones.
    let enders: [Int]
    /// Punctuation that says the message goes on.
    let goesOn: [Int]
    let template: ChatTemplate
    public let weights = Weights.fitted

    /// P(end) = sigmoid(end x logit P(ender next) + goesOn x logit P(goes-on mark next) + bias).
    public struct Weights: Sendable, Equatable {
        public var end: Double
        public var goesOn: Double
        public var bias: Double
        public init(end: Double, goesOn: Double, bias: Double) {
            self.end = end
            self.goesOn = goesOn
            self.bias = bias
        }

        /// Fitted on the stops in training/turn-end-stops.csv that have words (training voices
        /// and sentences only), each judged after the device's line at it (`next(_:after:)`), with
        /// the prosody model's log-odds as a fixed offset, and on the
        /// other word-prefixes of their turns (see `TurnEndModel.fitWords`); the bias then set so
        /// that 95 % of those turn ends still wait at most 120 ms more than the shortest wait:
        /// `microturn bench fit-turns --dialogs training/turn-end-stops.csv --local-model
        /// models/SmolLM2-135M-Instruct.Q4_1.gguf`. TurnEndFitTests checks that the stops give these
        /// weights.
        public static let fitted = Weights(end: 0.990, goesOn: -0.447, bias: 1.720)

        public func probability(_ n: Next) -> Double {
            1 / (1 + exp(-(end * WordsTurnEnd.logit(n.end) + goesOn * WordsTurnEnd.logit(n.goesOn) + bias)))
        }

        /// As Swift, for pasting over `fitted`.
        public var swiftLiteral: String { String(format: "Weights(end: %.3f, goesOn: %.3f, bias: %.3f)", end, goesOn, bias) }
    }

    /// What the model gives next after the words: an ender, a goes-on mark.
    public struct Next: Sendable, Equatable {
        public var end: Double
        public var goesOn: Double
        public init(end: Double, goesOn: Double) {
            self.end = end
            self.goesOn = goesOn
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(generator: Generator) throws {
        guard let template = generator.template else { throw Generator.Failure.noTemplate(path: generator.transformer.file.path) }
        guard let end = generator.tokenizer.encode(template.endOfTurn).onlyElement else {
            throw Failure(description: "\(generator.transformer.file.path): the chat template's end of turn \(template.endOfTurn) is not one token in its vocabulary")
        }
        self.generator = generator
        self.template = template
        func tokens(_ texts: Set<String>) -> [Int] {
            generator.tokenizer.tokens.indices.filter { texts.contains(generator.tokenizer.decode([$0]).trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        enders = [end] + tokens([".", "?", "!", "?!", "!?", "??", "!!"])
        goesOn = tokens([",", "-", "...", ";"])
    }

    /// log(p / (1 - p)), with p kept off 0 and 1 so that no single judgement is certain.
    public static func logit(_ p: Double) -> Double {
        let q = min(max(p, 1e-6), 1 - 1e-6)
        return log(q / (1 - q))
    }

    /// Lower case, letters, digits, apostrophes and single spaces only.
    public static func normalize(_ text: String) -> String {
        let kept = text.lowercased().map { $0.isLetter || $0.isNumber || $0 == "'" ? $0 : " " }
        return String(kept).split(separator: " ").joined(separator: " ")
    }

    /// P(end of turn) after `words`, the user's message so far, said after the device's line
    /// `after` (nil: it has said nothing yet).
    public func probability(_ words: String, after: String? = nil) throws -> Double {
        weights.probability(try next(words, after: after))
    }

    /// What the model gives next after `words` said in reply to the device's line `after` (nil or
    /// empty: it has said nothing): the conversation so far tells "thank you" or "what" that end a
    /// message from the same words opening one.
    public func next(_ words: String, after: String?) throws -> Next {
        let line = after?.trimmingCharacters(in: .whitespaces) ?? ""
        return try next(words, context: line.isEmpty ? [] : [ChatMessage(.assistant, line)])
    }

    /// The model's probabilities of an ender and of a goes-on mark right after `words`.
    public func next(_ words: String, context: [ChatMessage] = []) throws -> Next {
        let rendered = template.render(context + [ChatMessage(.user, Self.normalize(words))], openReply: false)
        // The last message closed by the template; cut back to its last word.
        guard let end = rendered.range(of: template.endOfTurn, options: .backwards) else { return Next(end: 0, goesOn: 0) }
        var ids = generator.tokenizer.encode(String(rendered[..<end.lowerBound]))
        if generator.tokenizer.addBOS, let bos = generator.tokenizer.bos, ids.first != bos { ids.insert(bos, at: 0) }
        let t = generator.transformer
        var shared = 0
        while shared < min(t.tokens.count, ids.count - 1), t.tokens[shared] == ids[shared] { shared += 1 }
        t.rewind(to: shared)
        let logits = try t.forward(tokens: Array(ids[shared...]))
        let top = logits.max() ?? 0
        var sum = 0.0
        for l in logits { sum += exp(Double(l - top)) }
        func share(_ ids: [Int]) -> Double { ids.reduce(0.0) { $0 + exp(Double(logits[$1] - top)) } / sum }
        return Next(end: share(enders), goesOn: share(goesOn))
    }
}
