/// Text to token ids and back, from a model's GGUF vocabulary, as llama.cpp does it:
/// `llama` (SentencePiece-style: best-scored merges of neighbours, byte fallback) and `gpt2`
/// (byte-level BPE: a pre-tokenizer splits words, merges apply by rank). Special tokens in the
/// text (control and user-defined ones) become their ids when `special` is set.
public final class Tokenizer {
    public enum Model: Sendable, Equatable { case sentencePiece, bytePairs(pre: PreTokenizer) }

    public let model: Model
    public let tokens: [String]
    let ids: [[UInt8]: Int]
    let scores: [Float]
    let types: [Int]
    let mergeRanks: [[UInt8]: Int]     // "left right" in bytes
    let specials: [(bytes: [UInt8], id: Int)]  // longest first
    let addSpacePrefix: Bool
    public let bos: Int?
    public let eos: Int?
    public let addBOS: Bool
    static let byteAlphabet = ByteLevel()

    public init(file: GGUFFile) throws(GGUFError) {
        func list(_ key: String) throws(GGUFError) -> [GGUFValue] {
            guard let a = try file.required(key).array else {
                throw .badMetadata(path: file.path, key: key, reason: "must be an array")
            }
            return a
        }
        let kind = try file.required("tokenizer.ggml.model").string ?? ""
        let texts = try list("tokenizer.ggml.tokens").map { $0.string ?? "" }
        tokens = texts
        var ids: [[UInt8]: Int] = [:]
        for (i, t) in texts.enumerated() where ids[Array(t.utf8)] == nil { ids[Array(t.utf8)] = i }
        self.ids = ids
        scores = (file.metadata["tokenizer.ggml.scores"]?.array ?? []).map { Float($0.double ?? 0) }
        let types = (file.metadata["tokenizer.ggml.token_type"]?.array ?? []).map { $0.integer ?? 1 }
        self.types = types
        switch kind {
        case "llama":
            model = .sentencePiece
            mergeRanks = [:]
        case "gpt2":
            let pre = file.metadata["tokenizer.ggml.pre"]?.string ?? "default"
            guard let p = PreTokenizer(name: pre) else {
                throw .badMetadata(path: file.path, key: "tokenizer.ggml.pre",
                                   reason: "pre-tokenizer '\(pre)' is not supported (\(PreTokenizer.names.joined(separator: ", ")))")
            }
            model = .bytePairs(pre: p)
            var ranks: [[UInt8]: Int] = [:]
            for (r, m) in try list("tokenizer.ggml.merges").enumerated() { ranks[Array((m.string ?? "").utf8)] = r }
            mergeRanks = ranks
        default:
            throw .badMetadata(path: file.path, key: "tokenizer.ggml.model", reason: "'\(kind)' is not supported (llama, gpt2)")
        }
        // Control (3) and user-defined (4) tokens are matched in the text as a whole.
        specials = texts.indices.filter { i in i < types.count && (types[i] == 3 || types[i] == 4) && !texts[i].isEmpty }
            .map { (Array(texts[$0].utf8), $0) }.sorted { $0.bytes.count > $1.bytes.count }
        addSpacePrefix = file.metadata["tokenizer.ggml.add_space_prefix"].map { $0 == .bool(true) } ?? (kind == "llama")
        // Lists that describe each token must describe every token, and the special ids must
        // name tokens: a file that breaks either was written wrong, and guessing would tokenize wrong.
        for (key, count) in [("tokenizer.ggml.scores", scores.count), ("tokenizer.ggml.token_type", types.count)]
            where file.metadata[key] != nil && count != texts.count {
            throw .badMetadata(path: file.path, key: key, reason: "has \(count) entries for \(texts.count) tokens; re-convert the model")
        }
        func special(_ key: String) throws(GGUFError) -> Int? {
            guard let id = file.metadata[key]?.integer else { return nil }
            guard id >= 0 && id < texts.count else {
                throw .badMetadata(path: file.path, key: key, reason: "token \(id) is outside the vocabulary of \(texts.count) tokens; re-convert the model")
            }
            return id
        }
        bos = try special("tokenizer.ggml.bos_token_id")
        eos = try special("tokenizer.ggml.eos_token_id")
        var bosByDefault = kind == "llama"
        if case let .bytePairs(pre) = model { bosByDefault = pre.addsBOS }
        addBOS = file.metadata["tokenizer.ggml.add_bos_token"].map { $0 == .bool(true) } ?? bosByDefault
    }

    /// Token ids of `text` (no BOS: see `addBOS`).
    public func encode(_ text: String, special: Bool = true) -> [Int] {
        var out: [Int] = []
        var previousWasSpecial = true
        for fragment in split(Array(text.utf8), special: special) {
            switch fragment {
            case let .token(id):
                out.append(id)
                previousWasSpecial = true
            case let .text(bytes):
                switch model {
                case .sentencePiece:
                    var t = (addSpacePrefix && previousWasSpecial ? [0x20] : []) + bytes
                    t = t.flatMap { $0 == 0x20 ? Array("▁".utf8) : [$0] }
                    sentencePiece(t, into: &out)
                case let .bytePairs(pre):
                    for word in pre.split(bytes) { bytePairs(word, wholeWordFirst: pre.ignoresMerges, into: &out) }
                }
                previousWasSpecial = false
            }
        }
        return out
    }

    /// The text of token ids (bytes that do not form UTF-8 are shown as U+FFFD).
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            let t = tokens[id]
            switch model {
            case .sentencePiece:
                if id < types.count && types[id] == 6, t.hasPrefix("<0x"), let b = UInt8(t.dropFirst(3).dropLast(), radix: 16) {
                    bytes.append(b)
                } else if id < types.count && types[id] == 3 {
                    continue
                } else {
                    bytes += Array(t.replacingOccurrences(of: "▁", with: " ").utf8)
                }
            case .bytePairs:
                if id < types.count && (types[id] == 3 || types[id] == 4) { bytes += Array(t.utf8) } else {
                    bytes += t.unicodeScalars.compactMap { Self.byteAlphabet.byte[$0] }
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    enum Fragment: Equatable { case text([UInt8]), token(Int) }

    /// Splits out special tokens, longest first, as llama.cpp's partition does.
    func split(_ text: [UInt8], special: Bool) -> [Fragment] {
        var fragments: [Fragment] = text.isEmpty ? [] : [.text(text)]
        guard special else { return fragments }
        for (bytes, id) in specials {
            var next: [Fragment] = []
            for f in fragments {
                guard case let .text(t) = f else { next.append(f); continue }
                var start = 0, i = 0
                while i + bytes.count <= t.count {
                    if t[i] == bytes[0] && Array(t[i..<(i + bytes.count)]) == bytes {
                        if i > start { next.append(.text(Array(t[start..<i]))) }
                        next.append(.token(id))
                        i += bytes.count
                        start = i
                    } else {
                        i += 1
                    }
                }
                if start < t.count { next.append(.text(Array(t[start...]))) }
            }
            fragments = next
        }
        return fragments
    }

    /// SentencePiece-style: start from UTF-8 characters, repeatedly merge the neighbouring pair
    /// whose joined text is the best-scored token (leftmost on ties), then emit each piece: a
    /// merged piece is a token by construction, a single character not in the vocabulary goes
    /// out as its bytes' <0xXX> tokens.
    func sentencePiece(_ text: [UInt8], into out: inout [Int]) {
        struct Symbol { var start: Int, length: Int, prev: Int, next: Int }
        var symbols: [Symbol] = []
        var offset = 0
        while offset < text.count {
            let n = min(text.count - offset, Self.utf8Length(text[offset]))
            symbols.append(Symbol(start: offset, length: n, prev: symbols.count - 1, next: offset + n >= text.count ? -1 : symbols.count + 1))
            offset += n
        }
        var queue = BigramQueue()
        func consider(_ l: Int, _ r: Int) {
            guard l >= 0, r >= 0 else { return }
            let piece = Array(text[symbols[l].start..<(symbols[r].start + symbols[r].length)])
            guard let id = ids[piece] else { return }
            queue.push(.init(left: l, right: r, score: id < scores.count ? scores[id] : 0, size: piece.count))
        }
        for i in symbols.indices.dropFirst() { consider(i - 1, i) }
        while let b = queue.pop() {
            let (l, r) = (symbols[b.left], symbols[b.right])
            guard l.length > 0, r.length > 0, l.length + r.length == b.size else { continue }
            symbols[b.left].length += r.length
            symbols[b.right].length = 0
            symbols[b.left].next = r.next
            if r.next >= 0 { symbols[r.next].prev = b.left }
            consider(symbols[b.left].prev, b.left)
            consider(b.left, symbols[b.left].next)
        }
        func emit(_ piece: [UInt8]) {
            if let id = ids[piece] { out.append(id); return }
            for byte in piece {
                let name = "<0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2) + ">"
                out.append(ids[Array(name.utf8)] ?? 0)
            }
        }
        var i = symbols.isEmpty ? -1 : 0
        while i != -1 {
            let s = symbols[i]
            emit(Array(text[s.start..<(s.start + s.length)]))
            i = s.next
        }
    }

    /// Byte-level BPE on one pre-tokenized word: map bytes to GPT-2's visible alphabet, merge the
    /// lowest-ranked neighbouring pair until none is in the merge list (with `wholeWordFirst`, a
    /// word that is a token is taken as it is).
    func bytePairs(_ word: [UInt8], wholeWordFirst: Bool = false, into out: inout [Int]) {
        var parts: [[UInt8]] = word.map { Array(String(Self.byteAlphabet.scalar[Int($0)]).utf8) }
        if wholeWordFirst, let id = ids[parts.flatMap { $0 }] {
            out.append(id)
            return
        }
        while parts.count > 1 {
            var best: (rank: Int, at: Int)?
            for i in 0..<(parts.count - 1) {
                if let rank = mergeRanks[parts[i] + [0x20] + parts[i + 1]], best == nil || rank < best!.rank { best = (rank, i) }
            }
            guard let (_, at) = best else { break }
            parts[at] += parts[at + 1]
            parts.remove(at: at + 1)
        }
        for p in parts {
            if let id = ids[p] { out.append(id); continue }
            // Not a token as a whole: its characters one by one (each byte is one).
            for ch in String(decoding: p, as: UTF8.self).unicodeScalars {
                if let id = ids[Array(String(ch).utf8)] { out.append(id) }
            }
        }
    }

    static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0..<0x80: 1
        case 0xC0..<0xE0: 2
        case 0xE0..<0xF0: 3
        case 0xF0...: 4
        default: 1
        }
    }
}

/// The best pair first: highest score, then leftmost.
struct BigramQueue {
    struct Bigram { var left: Int, right: Int, score: Float, size: Int }
    private var heap: [Bigram] = []

    static func before(_ a: Bigram, _ b: Bigram) -> Bool { a.score > b.score || (a.score == b.score && a.left < b.left) }

    mutating func push(_ b: Bigram) {
        heap.append(b)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Bigram? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && Self.before(heap[l], heap[m]) { m = l }
                if r < heap.count && Self.before(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves, the others map to
/// code points from U+0100 up, in byte order.
struct ByteLevel {
    let scalar: [Unicode.Scalar]
    let byte: [Unicode.Scalar: UInt8]

    init() {
        var scalar: [Unicode.Scalar] = []
        var extra: UInt32 = 0
        for b in 0..<256 {
            let visible = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if visible {
                scalar.append(Unicode.Scalar(UInt32(b))!)
            } else {
                scalar.append(Unicode.Scalar(256 + extra)!)
                extra += 1
            }
        }
        self.scalar = scalar
        var byte: [Unicode.Scalar: UInt8] = [:]
        for (b, s) in scalar.enumerated() { byte[s] = UInt8(b) }
        self.byte = byte
    }
}

extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
