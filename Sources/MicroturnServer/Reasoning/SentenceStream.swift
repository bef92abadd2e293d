/// A reply written in pieces, cut into sentences as each one ends, so that the device can say the
/// first while the model still writes the rest. A sentence ends at ".", "!" or "?" followed by
/// white space (so "3.5" and a reply still being written are not cut), except after a short
/// abbreviation ("Dr.", "e.g.").
struct SentenceStream {
    /// Sentences handed on, in order.
    private(set) var sentences: [String] = []
    /// Text after the last sentence end, not yet handed on.
    private(set) var pending = ""

    static let abbreviations: Set<String> = ["mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "approx", "no"]

    /// Adds a piece of the reply; returns the sentences it completed.
    mutating func add(_ piece: String) -> [String] {
        pending += piece
        var done: [String] = []
        while let end = Self.sentenceEnd(in: pending) {
            let sentence = pending[..<end].trimmingCharacters(in: .whitespacesAndNewlines)
            pending = String(pending[end...])
            if !sentence.isEmpty { done.append(sentence) }
        }
        sentences += done
        return done
    }

    /// Forgets the text after the last sentence end (a reply asked again starts afresh).
    mutating func dropPending() { pending = "" }

    /// The whole reply: every sentence, and the unfinished tail unless the reply was cut off there
    /// (the device should not say half a sentence).
    func text(keepingTail: Bool) -> String {
        let tail = pending.trimmingCharacters(in: .whitespacesAndNewlines)
        return (sentences + (keepingTail && !tail.isEmpty ? [tail] : [])).joined(separator: " ")
    }

    /// Where the first complete sentence in `text` ends (after its punctuation), if one does.
    static func sentenceEnd(in text: String) -> String.Index? {
        var i = text.startIndex
        while i < text.endIndex {
            guard ".!?".contains(text[i]) else {
                i = text.index(after: i)
                continue
            }
            var j = text.index(after: i)
            while j < text.endIndex && ".!?\"')".contains(text[j]) { j = text.index(after: j) }
            guard j < text.endIndex else { return nil }  // the next piece decides
            if text[j].isWhitespace && !(text[i] == "." && endsWithAbbreviation(text[..<i])) { return j }
            i = j
        }
        return nil
    }

    private static func endsWithAbbreviation(_ head: Substring) -> Bool {
        let word = head.split(whereSeparator: { $0.isWhitespace }).last.map { $0.lowercased() } ?? ""
        return abbreviations.contains(word) || (word.count == 1 && word.first?.isLetter == true)
    }
}
