import Foundation

/// A TOML value as Microturn's configuration uses it.
public enum TOMLValue: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return String(i)
        case .float(let d): return String(d)
        case .bool(let b): return String(b)
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// One `key = value` of a TOML document, with its full dotted path (`audio.period_ms`).
public struct TOMLEntry: Equatable, Sendable {
    public var path: String
    public var value: TOMLValue
    public var line: Int

    public init(path: String, value: TOMLValue, line: Int) {
        self.path = path
        self.value = value
        self.line = line
    }
}

public struct TOMLSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A TOML reader for configuration files: tables (`[a.b]`), dotted keys, inline tables,
/// basic and literal strings (single line and multi-line), integers, floats, booleans and arrays.
/// It flattens the document into dotted paths so validation can name the exact key.
/// Arrays of tables and dates are not used by Microturn and are rejected with a clear message.
public struct TOMLParser {
    private var chars: [Character]
    private var pos = 0
    private var line = 1
    private var entries: [TOMLEntry] = []
    private var seen: Set<String> = []
    /// Arrays and inline tables open now. Bounded, so a hostile file of ten thousand '[' is a
    /// syntax error rather than a stack overflow (the parser recurses once per level).
    private var depth = 0
    public static let maxDepth = 32

    public static func parse(_ text: String) throws(TOMLSyntaxError) -> [TOMLEntry] {
        var parser = TOMLParser(chars: Array(text))
        try parser.document()
        return parser.entries
    }

    private init(chars: [Character]) { self.chars = chars }

    private mutating func document() throws(TOMLSyntaxError) {
        var table: [String] = []
        while true {
            skipWhitespaceCommentsAndNewlines()
            guard let c = peek else { return }
            if c == "[" {
                pos += 1
                if peek == "[" { throw fail("arrays of tables ([[...]]) are not supported in Microturn configs") }
                skipSpaces()
                table = try keyPath()
                skipSpaces()
                guard peek == "]" else { throw fail("expected ']' to close the table header") }
                pos += 1
            } else {
                let key = try keyPath()
                skipSpaces()
                guard peek == "=" else { throw fail("expected '=' after key '\(key.joined(separator: "."))'") }
                pos += 1
                skipSpaces()
                try value(at: table + key)
            }
            try endOfLine()
        }
    }

    private mutating func value(at path: [String]) throws(TOMLSyntaxError) {
        if peek == "{" {
            try enter()
            defer { depth -= 1 }
            pos += 1
            skipSpaces()
            if peek == "}" { pos += 1; return }
            while true {
                skipSpaces()
                let key = try keyPath()
                skipSpaces()
                guard peek == "=" else { throw fail("expected '=' in inline table") }
                pos += 1
                skipSpaces()
                try value(at: path + key)
                skipSpaces()
                if peek == "," { pos += 1; continue }
                guard peek == "}" else { throw fail("expected ',' or '}' in inline table") }
                pos += 1
                return
            }
        }
        let startLine = line
        let v = try scalarOrArray()
        let dotted = path.joined(separator: ".")
        guard seen.insert(dotted).inserted else { throw TOMLSyntaxError(line: startLine, message: "key '\(dotted)' is defined twice") }
        entries.append(TOMLEntry(path: dotted, value: v, line: startLine))
    }

    private mutating func scalarOrArray() throws(TOMLSyntaxError) -> TOMLValue {
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case "\"", "'": return .string(try string())
        case "[":
            try enter()
            defer { depth -= 1 }
            pos += 1
            var items: [TOMLValue] = []
            while true {
                skipWhitespaceCommentsAndNewlines()
                if peek == "]" { pos += 1; return .array(items) }
                items.append(try scalarOrArray())
                skipWhitespaceCommentsAndNewlines()
                if peek == "," { pos += 1; continue }
                guard peek == "]" else { throw fail("expected ',' or ']' in array") }
                pos += 1
                return .array(items)
            }
        default:
            var word = ""
            while let ch = peek, !Self.valueEnd.contains(ch) { word.append(ch); pos += 1 }
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            let digits = word.replacingOccurrences(of: "_", with: "")
            if let i = Int(digits) { return .integer(i) }
            if digits.hasPrefix("0x"), let i = Int(digits.dropFirst(2), radix: 16) { return .integer(i) }
            if let d = Double(digits), !digits.isEmpty { return .float(d) }
            if word.isEmpty { throw fail("expected a value") }
            throw fail("'\(word)' is not a TOML value (strings need quotes)")
        }
    }

    private mutating func string() throws(TOMLSyntaxError) -> String {
        let quote = chars[pos]
        let multi = pos + 2 < chars.count && chars[pos + 1] == quote && chars[pos + 2] == quote
        pos += multi ? 3 : 1
        if multi, peek == "\n" { pos += 1; line += 1 }
        var out = ""
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            if c == quote {
                if !multi { pos += 1; return out }
                if pos + 2 < chars.count, chars[pos + 1] == quote, chars[pos + 2] == quote { pos += 3; return out }
            }
            if c == "\n" {
                guard multi else { throw fail("newline inside a single-line string") }
                line += 1
            }
            pos += 1
            if c == "\\" && quote == "\"" {
                guard let e = peek else { throw fail("unterminated escape") }
                pos += 1
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                case "\"": out.append("\"")
                case "u", "U":
                    let len = e == "u" ? 4 : 8
                    guard pos + len <= chars.count, let code = UInt32(String(chars[pos..<pos + len]), radix: 16),
                          let scalar = Unicode.Scalar(code) else { throw fail("bad \\\(e) escape") }
                    out.unicodeScalars.append(scalar)
                    pos += len
                default: throw fail("unknown escape '\\\(e)'")
                }
            } else {
                out.append(c)
            }
        }
    }

    private mutating func keyPath() throws(TOMLSyntaxError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            if peek == "\"" || peek == "'" {
                parts.append(try string())
            } else {
                var k = ""
                while let c = peek, c.isLetter || c.isNumber || c == "_" || c == "-" { k.append(c); pos += 1 }
                guard !k.isEmpty else { throw fail("expected a key") }
                parts.append(k)
            }
            skipSpaces()
            if peek == "." { pos += 1; continue }
            return parts
        }
    }

    private mutating func endOfLine() throws(TOMLSyntaxError) {
        skipSpaces()
        if peek == "#" { while let c = peek, c != "\n" { pos += 1 } }
        guard let c = peek else { return }
        guard c == "\n" || c == "\r\n" || c == "\r" else { throw fail("unexpected '\(c)' after value") }
    }

    private static let valueEnd: Set<Character> = [" ", "\t", "\r", "\n", "\r\n", ",", "]", "}", "#"]

    private var peek: Character? { pos < chars.count ? chars[pos] : nil }

    private mutating func skipSpaces() {
        while let c = peek, c == " " || c == "\t" { pos += 1 }
    }

    private mutating func skipWhitespaceCommentsAndNewlines() {
        while let c = peek {
            if c == "#" { while let d = peek, d != "\n" { pos += 1 } }
            else if c == "\n" || c == "\r\n" { line += 1; pos += 1 }
            else if c == " " || c == "\t" || c == "\r" { pos += 1 }
            else { return }
        }
    }

    private mutating func enter() throws(TOMLSyntaxError) {
        guard depth < Self.maxDepth else { throw fail("arrays and inline tables nest more than \(Self.maxDepth) deep") }
        depth += 1
    }

    private func fail(_ message: String) -> TOMLSyntaxError { TOMLSyntaxError(line: line, message: message) }
}
