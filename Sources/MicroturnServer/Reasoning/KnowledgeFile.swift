import Foundation
import MicroturnCore

/// Facts an integrator writes for a kiosk, in TOML: every string is a fact, its key path the topic
/// (`[hours] weekdays = "Open 9:00 to 18:00, Monday to Friday."`). The model searches them through
/// a tool; the built-in model gets the best matches with the question.
public struct KnowledgeFile: Sendable, Equatable {
    public struct Fact: Sendable, Equatable {
        public var topic: String
        public var text: String
    }

    public let facts: [Fact]

    public init(facts: [Fact]) { self.facts = facts }

    /// Reads the file; anything but strings (and arrays of strings, one fact each) is refused with
    /// its line, so a typo does not silently drop a fact.
    public init(path: String) throws(ConfigError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .unreadable(file: path, reason: "no such file, or not UTF-8 text; write the kiosk's facts as TOML strings")
        }
        var facts: [Fact] = []
        for entry in try SettingKey<ServerConfig>.parse(toml: text, file: path) {
            let topic = entry.path.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ".", with: " ")
            switch entry.value {
            case let .string(s):
                facts.append(Fact(topic: topic, text: s))
            case let .array(items):
                for item in items {
                    guard case let .string(s) = item else { throw .badValue(file: path, line: entry.line, path: entry.path, got: "\(item)", allowed: "strings (one fact each)") }
                    facts.append(Fact(topic: topic, text: s))
                }
            default:
                throw .badValue(file: path, line: entry.line, path: entry.path, got: "\(entry.value)", allowed: "a string (a fact) or an array of strings")
            }
        }
        self.facts = facts
    }

    /// The facts that share the most words with `query` (a topic word counts twice), best first:
    /// those at least half as good as the best, so that a fact that shares one common word
    /// ("open") does not ride along with the one asked for (a small model mixes them up).
    public func search(_ query: String, limit: Int = 3) -> [Fact] {
        let asked = Set(Self.words(query))
        guard !asked.isEmpty else { return [] }
        let scored = facts.map { fact -> (Fact, Int) in
            let topic = Set(Self.words(fact.topic)), body = Set(Self.words(fact.text))
            return (fact, 2 * asked.intersection(topic).count + asked.intersection(body).count)
        }
        let best = scored.map(\.1).max() ?? 0
        return scored.filter { $0.1 > 0 && 2 * $0.1 >= best }.sorted { $0.1 > $1.1 }.prefix(limit).map(\.0)
    }

    /// Lowercased words without common endings or the commonest small words, so "opening" meets "open".
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init).filter { !stopWords.contains($0) }.map { w in
            for suffix in ["ing", "es", "s"] where w.count > suffix.count + 2 && w.hasSuffix(suffix) { return String(w.dropLast(suffix.count)) }
            return w
        }
    }

    static let stopWords: Set<String> = ["a", "an", "the", "is", "are", "do", "does", "you", "your", "i", "me", "my", "we", "it", "to", "of",
                                         "in", "on", "at", "for", "and", "or", "what", "when", "where", "how", "can", "there", "this", "that",
                                         "be", "with", "have", "has", "please", "tell", "about"]
}
