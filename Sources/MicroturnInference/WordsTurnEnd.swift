import Foundation

/// The probability that a user's message ends where its words stop, judged from the words alone
/// by a chat model: the conversation through the model's chat template with the user's last
/// message left open (nothing after its words), and the probability the model gives next to what
/// ends a message: the template's end-of-turn token, or a sentence's final punctuation. (LiveKit's
/// first turn detector used the end-of-turn token alone, with SmolLM2-135M fine-tuned for it; the
/// model as published gives that token almost nothing after unpunctuated words, and puts the
/// same judgement into "?", "." and "!".) The words are normalized the way a recognizer gives them
/// (lower case, no punctuation), so a written "?" cannot give the answer away. Conversations that share a beginning reuse the key/value
/// cache of it: a growing transcript costs only its new tokens.
public final class WordsTurnEnd {
    public let generator: Generator
    /// The end-of-turn token and the final-punctuation ones.
    let enders: [Int]
    let template: ChatTemplate

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
        let final: Set<String> = [".", "?", "!", "?!", "!?", "??", "!!"]
        enders = [end] + generator.tokenizer.tokens.indices.filter { id in
            final.contains(generator.tokenizer.decode([id]).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Lower case, letters, digits, apostrophes and single spaces only.
    public static func normalize(_ text: String) -> String {
        let kept = text.lowercased().map { $0.isLetter || $0.isNumber || $0 == "'" ? $0 : " " }
        return String(kept).split(separator: " ").joined(separator: " ")
    }

    /// P(end of turn) after `words`, the user's message so far, following `context` (earlier
    /// messages, oldest first).
    public func probability(_ words: String, context: [ChatMessage] = []) throws -> Double {
        let rendered = template.render(context + [ChatMessage(.user, Self.normalize(words))], openReply: false)
        // The last message closed by the template; cut back to its last word.
        guard let end = rendered.range(of: template.endOfTurn, options: .backwards) else { return 0 }
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
        return enders.reduce(0.0) { $0 + exp(Double(logits[$1] - top)) } / sum
    }
}
