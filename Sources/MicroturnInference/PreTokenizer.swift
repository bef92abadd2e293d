/// The word splitters byte-level BPE vocabularies name in `tokenizer.ggml.pre`, as llama.cpp runs
/// them: a pipeline of stages, each splitting every piece the one before left (what a regular
/// expression matches becomes a piece, and so does each stretch between two matches). The regular
/// expressions are written out by hand; character classes follow ggml's Unicode tables: \s is
/// White_Space, \p{L} letters, \p{N} numbers, \p{P} punctuation.
public struct PreTokenizer: Sendable, Equatable {
    /// The name the file gives (`tokenizer.ggml.pre`).
    public let name: String
    let stages: [Stage]
    /// A word that is a token as a whole is taken as it is, without merges (Llama 3's vocabulary
    /// was built so; llama.cpp's `ignore_merges`).
    public let ignoresMerges: Bool
    /// llama.cpp adds BOS for this family when the file does not say.
    public let addsBOS: Bool

    /// The families, by the names converters write: name -> (stages, ignores merges, adds BOS).
    static let families: [(names: [String], stages: [Stage], ignoresMerges: Bool, addsBOS: Bool)] = [
        // [\p{P}\$\+<=>\^~\|]+, then GPT-2's, then \p{N}+, then [0-9][0-9][0-9].
        (["default"], [.punctuationRuns, .gpt2, .numberRuns, .asciiDigitTriples], false, false),
        (["gpt-2", "phi-2", "mpt", "olmo", "jais"], [.gpt2], false, false),
        // \p{N} (each digit alone), then GPT-2's.
        (["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"], [.eachDigit, .gpt2], false, false),
        (["llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe"], [.llama3], true, true),
        (["qwen2", "stablelm2", "deepseek-r1-qwen"], [.qwen2], false, false),
        // [\r\n], \s?[Latin, Greek, Cyrillic... letters]+, \s?[ASCII and full-width punctuation]+,
        // \s+$, [CJK]+, \p{N}+.
        (["deepseek-llm"], [.eachNewline, .deepSeekLetters, .deepSeekPunctuation, .trailingSpaces, .deepSeekCJK, .numberRuns], false, false),
    ]

    /// Every name this engine runs, for error messages.
    public static var names: [String] { families.flatMap(\.names) }

    public init?(name: String) {
        guard let f = Self.families.first(where: { $0.names.contains(name) }) else { return nil }
        self.name = name
        stages = f.stages
        ignoresMerges = f.ignoresMerges
        addsBOS = f.addsBOS
    }

    /// The words of UTF-8 `text`, as UTF-8.
    public func split(_ text: [UInt8]) -> [[UInt8]] {
        let s = Array(String(decoding: text, as: UTF8.self).unicodeScalars)
        var pieces = s.isEmpty ? [] : [0..<s.count]
        for stage in stages { pieces = pieces.flatMap { stage.split(s, $0) } }
        return pieces.map { Array(String(String.UnicodeScalarView(s[$0])).utf8) }
    }

    /// One step of a pipeline. The first three are whole expressions (every character of a piece
    /// ends in one word); the others pick matches out of a piece, leaving the rest as pieces.
    enum Stage: Sendable, Equatable {
        /// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
        case gpt2
        /// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
        case llama3
        /// Llama 3's with \p{N} for \p{N}{1,3}.
        case qwen2
        case eachDigit, numberRuns, punctuationRuns, asciiDigitTriples
        case eachNewline, deepSeekLetters, deepSeekPunctuation, trailingSpaces, deepSeekCJK

        func split(_ s: [Unicode.Scalar], _ piece: Range<Int>) -> [Range<Int>] {
            let text = Piece(s: s, end: piece.upperBound)
            switch self {
            case .gpt2: return Self.words(piece) { text.gpt2($0) }
            case .llama3: return Self.words(piece) { text.llama3($0, digits: 3) }
            case .qwen2: return Self.words(piece) { text.llama3($0, digits: 1) }
            default: return Self.matches(piece) { self.match(text, $0) }
            }
        }

        /// Words one after the other, each ending where `next` says.
        static func words(_ piece: Range<Int>, _ next: (Int) -> Int) -> [Range<Int>] {
            var out: [Range<Int>] = []
            var i = piece.lowerBound
            while i < piece.upperBound {
                let end = max(i + 1, next(i))
                out.append(i..<end)
                i = end
            }
            return out
        }

        /// Leftmost matches, and the stretches between them.
        static func matches(_ piece: Range<Int>, _ match: (Int) -> Int?) -> [Range<Int>] {
            var out: [Range<Int>] = []
            var gap = piece.lowerBound, i = piece.lowerBound
            while i < piece.upperBound {
                guard let end = match(i), end > i else { i += 1; continue }
                if gap < i { out.append(gap..<i) }
                out.append(i..<end)
                gap = end
                i = end
            }
            if gap < piece.upperBound { out.append(gap..<piece.upperBound) }
            return out
        }

        /// The end of this stage's match starting at `i`, or nil.
        func match(_ t: Piece, _ i: Int) -> Int? {
            let c = t.s[i]
            switch self {
            case .eachDigit: return Unicode.isNumber(c) ? i + 1 : nil
            case .numberRuns: return Unicode.isNumber(c) ? t.run(i, Unicode.isNumber) : nil
            case .punctuationRuns: return Unicode.isPunctuationRun(c) ? t.run(i, Unicode.isPunctuationRun) : nil
            case .asciiDigitTriples: return (0..<3).allSatisfy { t.at(i + $0).map { ("0"..."9").contains($0) } ?? false } ? i + 3 : nil
            case .eachNewline: return c == "\r" || c == "\n" ? i + 1 : nil
            case .deepSeekLetters: return t.spaceThenRun(i, Unicode.isDeepSeekLetter)
            case .deepSeekPunctuation: return t.spaceThenRun(i, Unicode.isDeepSeekPunctuation)
            case .trailingSpaces: return Unicode.isSpace(c) && t.run(i, Unicode.isSpace) == t.end ? t.end : nil
            case .deepSeekCJK: return Unicode.isDeepSeekCJK(c) ? t.run(i, Unicode.isDeepSeekCJK) : nil
            case .gpt2, .llama3, .qwen2: return nil
            }
        }
    }

    /// Characters up to `end` (a piece's end: expressions see nothing past it).
    struct Piece {
        let s: [Unicode.Scalar]
        let end: Int

        func at(_ i: Int) -> Unicode.Scalar? { i < end ? s[i] : nil }
        func test(_ i: Int, _ p: (Unicode.Scalar) -> Bool) -> Bool { at(i).map(p) ?? false }

        /// End of the run of `p` characters from `i`.
        func run(_ i: Int, _ p: (Unicode.Scalar) -> Bool) -> Int {
            var j = i
            while test(j, p) { j += 1 }
            return j
        }

        /// \s?X+ at `i`.
        func spaceThenRun(_ i: Int, _ p: (Unicode.Scalar) -> Bool) -> Int? {
            if test(i, p) { return run(i, p) }
            if test(i, Unicode.isSpace) && test(i + 1, p) { return run(i + 1, p) }
            return nil
        }

        /// 's 't 're 've 'm 'll 'd at `i` (case-insensitive when asked): where it ends, or nil.
        func contraction(_ i: Int, ignoringCase: Bool) -> Int? {
            guard s[i] == "'", let c1 = at(i + 1) else { return nil }
            func lower(_ c: Unicode.Scalar?) -> String {
                guard let c else { return "" }
                return ignoringCase ? String(c).lowercased() : String(c)
            }
            if ["s", "t", "m", "d"].contains(lower(c1)) { return i + 2 }
            if ["re", "ve", "ll"].contains(lower(c1) + lower(at(i + 2))) { return i + 3 }
            return nil
        }

        /// Whitespace from `i`: \s+(?!\S) leaves the last space to the word that follows, \s+
        /// takes the rest.
        func spaces(_ i: Int) -> Int {
            let j = run(i, Unicode.isSpace)
            return j < end && j - i > 1 ? j - 1 : j
        }

        func gpt2(_ i: Int) -> Int {
            if let e = contraction(i, ignoringCase: false) { return e }
            let start = s[i] == " " && i + 1 < end ? i + 1 : i
            if Unicode.isLetter(s[start]) { return run(start, Unicode.isLetter) }
            if Unicode.isNumber(s[start]) { return run(start, Unicode.isNumber) }
            if Unicode.isOther(s[start]) { return run(start, Unicode.isOther) }
            return spaces(i)
        }

        /// Llama 3's expression, or Qwen2's with `digits` 1.
        func llama3(_ i: Int, digits: Int) -> Int {
            if let e = contraction(i, ignoringCase: true) { return e }
            let c = s[i]
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if Unicode.isLetter(c) { return run(i, Unicode.isLetter) }
            if !Unicode.isNewline(c) && !Unicode.isNumber(c) && test(i + 1, Unicode.isLetter) { return run(i + 1, Unicode.isLetter) }
            // \p{N}{1,digits}
            if Unicode.isNumber(c) { return min(run(i, Unicode.isNumber), i + digits) }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let start = c == " " && i + 1 < end ? i + 1 : i
            if Unicode.isOther(s[start]) { return run(run(start, Unicode.isOther), Unicode.isNewline) }
            // \s*[\r\n]+: up to the last newline in the whitespace run.
            let j = run(i, Unicode.isSpace)
            if let lastNewline = (i..<j).last(where: { Unicode.isNewline(s[$0]) }) { return lastNewline + 1 }
            return spaces(i)
        }
    }
}

/// ggml's character classes.
extension Unicode {
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

    /// [\p{P}\$\+<=>\^~\|]: punctuation, and the ASCII symbols but the backtick.
    static func isPunctuationRun(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: return true
        default: return "$+<=>^~|".unicodeScalars.contains(c)
        }
    }

    /// DeepSeek's letter class: A-Za-z and the cased letters of Latin, Greek, Cyrillic, Armenian,
    /// Georgian, Cherokee, Glagolitic, Coptic, Deseret and others, as ranges of code points.
    static let deepSeekLetterRanges: [ClosedRange<UInt32>] = [
        0x41...0x5A, 0x61...0x7A, 0xB5...0xB5, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x1BA, 0x1BC...0x1BF, 0x1C4...0x293,
        0x295...0x2AF, 0x370...0x373, 0x376...0x377, 0x37B...0x37D, 0x37F...0x37F, 0x386...0x386, 0x388...0x38A,
        0x38C...0x38C, 0x38E...0x3A1, 0x3A3...0x3F5, 0x3F7...0x481, 0x48A...0x52F, 0x531...0x556, 0x10A0...0x10C5,
        0x13A0...0x13F5, 0x13F8...0x13FD, 0x1C90...0x1CBA, 0x1CBD...0x1CBF, 0x1D00...0x1D2B, 0x1D6B...0x1D77,
        0x1D79...0x1D9A, 0x1E00...0x1F15, 0x1F18...0x1F1D, 0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57,
        0x1F59...0x1F59, 0x1F5B...0x1F5B, 0x1F5D...0x1F5D, 0x1F5F...0x1F7D, 0x1F80...0x1FB4, 0x1FB6...0x1FBC,
        0x1FBE...0x1FBE, 0x1FC2...0x1FC4, 0x1FC6...0x1FCC, 0x1FD0...0x1FD3, 0x1FD6...0x1FDB, 0x1FE0...0x1FEC,
        0x1FF2...0x1FF4, 0x1FF6...0x1FFC, 0x2102...0x2102, 0x2107...0x2107, 0x210A...0x2113, 0x2115...0x2115,
        0x2119...0x211D, 0x2124...0x2124, 0x2126...0x2126, 0x2128...0x2128, 0x212A...0x212D, 0x212F...0x2134,
        0x2139...0x2139, 0x213C...0x213F, 0x2145...0x2149, 0x214E...0x214E, 0x2183...0x2184, 0x2C00...0x2C7B,
        0x2C7E...0x2CE4, 0x2CEB...0x2CEE, 0x2CF2...0x2CF3, 0xA640...0xA66D, 0xA680...0xA69B, 0xA722...0xA76F,
        0xA771...0xA787, 0xA78B...0xA78E, 0xAB70...0xABBF, 0xFB00...0xFB06, 0xFB13...0xFB17, 0xFF21...0xFF3A,
        0xFF41...0xFF5A, 0x10400...0x1044F, 0x104B0...0x104D3, 0x104D8...0x104FB, 0x10C80...0x10CB2,
        0x10CC0...0x10CF2, 0x118A0...0x118DF, 0x1E900...0x1E943,
    ]

    static func isDeepSeekLetter(_ c: Unicode.Scalar) -> Bool { deepSeekLetterRanges.contains { $0.contains(c.value) } }

    /// [!-/:-~！-／：-～‘-‟　-。] (the ideographic space is whitespace to llama.cpp's expressions, which
    /// see it as \v, so it is left out).
    static func isDeepSeekPunctuation(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x21...0x2F, 0x3A...0x7E, 0xFF01...0xFF0F, 0xFF1A...0xFF5E, 0x2018...0x201F, 0x3001...0x3002: true
        default: false
        }
    }

    /// [一-龥ࠀ-一가-퟿]
    static func isDeepSeekCJK(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FA5, 0x800...0x4E00, 0xAC00...0xD7FF: true
        default: false
        }
    }
}
