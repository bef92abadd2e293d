import AsyncHTTPClient
import Foundation
import NIOCore

/// The tools of a task: those the server runs itself (the date and time, the kiosk's knowledge
/// file, pages from an allow-list of URLs) and its device's (asked over the link).
/// A call names a tool and gives JSON arguments the model wrote; an unknown tool or arguments that
/// do not parse give the model an error it can read (and the task log records it), never a crash.
public struct ServerTools: Sendable {
    public let knowledge: KnowledgeFile?
    /// URL prefixes http_get may fetch (nothing else: the model is not trusted with the network).
    public let httpAllow: [String]
    /// The time zone answers are given in (the kiosk's).
    public let timeZone: TimeZone
    /// The clock (tests set it).
    let now: @Sendable () -> Date
    /// The task's device's tools, if it has any.
    public private(set) var device: DeviceTools?
    static let httpTimeout: TimeAmount = .seconds(5)
    static let pageLimit = 64 * 1024, resultLimit = 1500

    public init(knowledge: KnowledgeFile? = nil, httpAllow: [String] = [], timeZone: TimeZone = .current,
                now: @escaping @Sendable () -> Date = Date.init) {
        self.knowledge = knowledge
        self.httpAllow = httpAllow
        self.timeZone = timeZone
        self.now = now
    }

    /// These tools with a task's device's.
    public func with(device: DeviceTools?) -> ServerTools {
        var tools = self
        tools.device = device
        return tools
    }

    public var definitions: [ToolDefinition] {
        var tools = [ToolDefinition(name: "current_time", description: "The current date, day of the week and time where the device is.")]
        if knowledge != nil {
            tools.append(ToolDefinition(
                name: "search_knowledge",
                description: "Search this place's own facts (opening hours, directions, prices, services) for the words of a question.",
                parameters: #"{"type":"object","properties":{"query":{"type":"string","description":"what to look for"}},"required":["query"]}"#))
        }
        if !httpAllow.isEmpty {
            tools.append(ToolDefinition(
                name: "http_get",
                description: "Fetch a page as text. Only these sources are allowed: \(httpAllow.joined(separator: ", "))",
                parameters: #"{"type":"object","properties":{"url":{"type":"string","description":"the page's URL, starting with an allowed source"}},"required":["url"]}"#))
        }
        return tools + (device?.definitions ?? [])
    }

    /// What a tool call gives the model: a result, or an error it can act on.
    public enum Outcome: Sendable, Equatable {
        case result(String)
        case error(String)

        public var text: String {
            switch self {
            case let .result(s): s
            case let .error(s): "error: \(s)"
            }
        }
    }

    public func run(_ call: ToolCall) -> Outcome {
        let arguments: [String: Any]
        let raw = call.arguments.trimmingCharacters(in: .whitespacesAndNewlines)
        if raw.isEmpty {
            arguments = [:]
        } else if let object = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] {
            arguments = object
        } else {
            return .error("the arguments of \(call.name) are not a JSON object: \(raw.prefix(120))")
        }
        switch call.name {
        case "current_time":
            return .result(timeText())
        case "search_knowledge":
            guard let knowledge else { return .error("there is no knowledge file here") }
            guard let query = arguments["query"] as? String, !query.isEmpty else { return .error("search_knowledge needs a \"query\" string") }
            let found = knowledge.search(query)
            return .result(found.isEmpty ? "nothing found for \"\(query)\"" : found.map(\.text).joined(separator: " "))
        case "http_get" where !httpAllow.isEmpty:
            guard let url = arguments["url"] as? String, !url.isEmpty else { return .error("http_get needs a \"url\" string") }
            return fetch(url)
        case let name where device?.has(name) == true:
            return device!.run(name, arguments: raw.isEmpty ? "{}" : raw)
        default:
            return .error("there is no tool named \"\(call.name)\"; the tools are \(definitions.map(\.name).joined(separator: ", "))")
        }
    }

    /// Whether `url` lies under an allowed prefix (a prefix ends at a path boundary: an allowed
    /// "https://example.com/api" does not let "https://example.com/api-admin" or "https://example.com.evil" in).
    func allows(_ url: String) -> Bool {
        httpAllow.contains { prefix in
            guard url.hasPrefix(prefix) else { return false }
            if prefix.hasSuffix("/") || url.count == prefix.count { return true }
            let next = url[url.index(url.startIndex, offsetBy: prefix.count)]
            return next == "/" || next == "?" || next == "#"
        }
    }

    /// The page's text (the first `resultLimit` characters), or why not.
    func fetch(_ url: String) -> Outcome {
        guard allows(url) else { return .error("\(url) is not an allowed source; allowed: \(httpAllow.joined(separator: ", "))") }
        do {
            // A page larger than the limit is refused as it arrives, never held whole.
            let request = try HTTPClient.Request(url: url)
            let response = try OpenAIChatBackend.client.execute(request: request, delegate: ResponseAccumulator(request: request, maxBodySize: Self.pageLimit),
                                                                deadline: .now() + Self.httpTimeout).futureResult.wait()
            guard response.status == .ok else { return .error("\(url) answered HTTP \(response.status.code)") }
            let bytes = response.body.map { Array($0.readableBytesView) } ?? []
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return .result(text.count > Self.resultLimit ? String(text.prefix(Self.resultLimit)) + "..." : text)
        } catch {
            return .error("\(url) could not be fetched: \(error)")
        }
    }

    /// "It is 14:05 on Thursday, 3 December 2026."
    public func timeText() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        f.dateFormat = "'It is' HH:mm 'on' EEEE, d MMMM yyyy."
        return f.string(from: now())
    }

    /// For a model that calls no tools: what the question plainly needs, looked up first (the
    /// time for a question about the time or day, the knowledge file's best matches, the device's
    /// tools, whose calls are also given for the task's log). `context` (the previous question)
    /// is searched with it when the question alone finds no fact ("And on Sundays?").
    public func lookUp(for question: String, context: String? = nil) -> (facts: [String], deviceCalls: [Reasoner.ToolUse]) {
        var found: [String] = []
        let words = Set(question.lowercased().split { !$0.isLetter }.map(String.init))
        if !words.isDisjoint(with: ["time", "date", "day", "today", "clock", "o'clock", "weekday", "tomorrow"]) { found.append(timeText()) }
        if let knowledge {
            var facts = knowledge.search(question)
            if facts.isEmpty, let context { facts = knowledge.search(question + " " + context) }
            found += facts.map(\.text)
        }
        let calls = device?.lookUp(for: question) ?? []
        return (found + calls.map(\.result), calls)
    }
}
