/// The word splitters byte-level BPE vocabularies name in `tokenizer.ggml.pre`, written out by hand
/// from their regular expressions (ggml's Unicode classes: \s is White_Space, \p{L} letters,
/// \p{N} numbers).
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2's: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    case gpt2 = "default"
    /// OLMo uses GPT-2's.
    case olmo
    /// Qwen2's: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    case qwen2

    /// The words of UTF-8 `text`, as UTF-8.
    public func split(_ text: [UInt8]) -> [[UInt8]] {
        let s = Array(String(decoding: text, as: UTF8.self).unicodeScalars)
        var words: [[UInt8]] = []
        var i = 0
        while i < s.count {
            let end = self == .qwen2 ? Self.qwen2(s, i) : Self.gpt2(s, i)
            words.append(Array(String(String.UnicodeScalarView(s[i..<end])).utf8))
            i = end
        }
        return words
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
    static func isNewline(_ c: Unicode.Scalar) -> Bool { c == "\r" || c == "\n" }
    static func isOther(_ c: Unicode.Scalar) -> Bool { !isSpace(c) && !isLetter(c) && !isNumber(c) }

    /// End of the run of `test` characters from `i`.
    static func run(_ s: [Unicode.Scalar], _ i: Int, _ test: (Unicode.Scalar) -> Bool) -> Int {
        var j = i
        while j < s.count && test(s[j]) { j += 1 }
        return j
    }

    /// 's 't 're 've 'm 'll 'd at `i` (case-insensitive for Qwen2): where it ends, or nil.
    static func contraction(_ s: [Unicode.Scalar], _ i: Int, ignoringCase: Bool) -> Int? {
        guard s[i] == "'", i + 1 < s.count else { return nil }
        func at(_ k: Int) -> String {
            guard k < s.count else { return "" }
            let t = String(s[k])
            return ignoringCase ? t.lowercased() : t
        }
        if ["s", "t", "m", "d"].contains(at(i + 1)) { return i + 2 }
        if ["re", "ve", "ll"].contains(at(i + 1) + at(i + 2)) { return i + 3 }
        return nil
    }

    /// Whitespace from `i`: \s+(?!\S) leaves the last space to the word that follows, \s+ takes
    /// a lone one.
    static func spaces(_ s: [Unicode.Scalar], _ i: Int) -> Int {
        let j = run(s, i, isSpace)
        return j < s.count && j - i > 1 ? j - 1 : j
    }

    static func gpt2(_ s: [Unicode.Scalar], _ i: Int) -> Int {
        if let e = contraction(s, i, ignoringCase: false) { return e }
        let start = s[i] == " " && i + 1 < s.count ? i + 1 : i
        if isLetter(s[start]) { return run(s, start, isLetter) }
        if isNumber(s[start]) { return run(s, start, isNumber) }
        if isOther(s[start]) { return run(s, start, isOther) }
        return spaces(s, i)
    }

    static func qwen2(_ s: [Unicode.Scalar], _ i: Int) -> Int {
        if let e = contraction(s, i, ignoringCase: true) { return e }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if isLetter(s[i]) { return run(s, i, isLetter) }
        if !isNewline(s[i]) && !isNumber(s[i]) && i + 1 < s.count && isLetter(s[i + 1]) { return run(s, i + 1, isLetter) }
        if isNumber(s[i]) { return i + 1 }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let start = s[i] == " " && i + 1 < s.count ? i + 1 : i
        if isOther(s[start]) { return run(s, run(s, start, isOther), isNewline) }
        // \s*[\r\n]+: up to the last newline in the whitespace run.
        let j = run(s, i, isSpace)
        if let lastNewline = (i..<j).last(where: { isNewline(s[$0]) }) { return lastNewline + 1 }
        return spaces(s, i)
    }
}
