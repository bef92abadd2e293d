import AsyncHTTPClient
import Foundation
import MicroturnInference
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A chat model behind an OpenAI-compatible `/v1/chat/completions`, streamed (server-sent events)
/// with tools. This is how a fleet outgrows one machine: point it at a vLLM, SGLang, llama.cpp
/// server or Ollama cluster. A server that answers with one JSON body instead of a stream is read
/// too. What the server writes is checked, never trusted: a malformed stream, a tool call without a
/// name, a reply that never ends are failures with their reason, not hangs or crashes.
public final class OpenAIChatBackend: ChatBackend {
    /// The API root, e.g. "http://127.0.0.1:8080/v1".
    public let baseURL: String
    public let model: String
    /// Whether a request that offers tools is streamed too. Some servers cannot stream a reply
    /// whose tool call is the model's choice (llama-cpp-python's function-calling chat format ends
    /// such a stream empty); for them the rounds with tools come whole and only the last is streamed.
    public let streamsWithTools: Bool
    let apiKey: String
    let client: HTTPClient

    public var name: String { baseURL }
    public var callsTools: Bool { true }

    /// The process's client for backends: a connection that cannot be made fails at once (the
    /// reasoner tries again with its own backoff, within the task's budget), not after the client
    /// has retried for its own connect timeout.
    public static let client: HTTPClient = {
        var c = HTTPClient.Configuration()
        c.connectionPool.retryConnectionEstablishment = false
        c.timeout.connect = .seconds(3)
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: c)
    }()

    public init(baseURL: String, model: String, apiKey: String = "", streamsWithTools: Bool = true, client: HTTPClient = OpenAIChatBackend.client) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.model = model
        self.streamsWithTools = streamsWithTools
        self.apiKey = apiKey
        self.client = client
    }

    public func reply(to messages: [Message], tools: [ToolDefinition], options: ChatOptions, cancellation: Cancellation,
                      onText: (String) -> Void) throws(BackendFailure) -> ChatReply {
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: baseURL + "/chat/completions", method: .POST, headers: headers(),
                                             body: .data(try Self.body(model: model, messages: messages, tools: tools, options: options,
                                                                       stream: tools.isEmpty || streamsWithTools)))
        } catch {
            throw .unreachable(backend: name, reason: "bad URL or request: \(error)")
        }
        let inbox = Inbox()
        let started = ContinuousClock.now
        let task = client.execute(request: request, delegate: StreamDelegate(inbox, backend: name), deadline: .now() + .nanoseconds(Int64(options.timeout.seconds * 1e9)))
        var reply = ReplyAccumulator(backend: name)
        do throws(BackendFailure) {
            while true {
                if cancellation.isCancelled { throw .cancelled }
                if ContinuousClock.now - started > options.timeout { throw .timedOut(backend: name, seconds: options.timeout.seconds) }
                inbox.wait(milliseconds: 20)
                for item in inbox.take() {
                    switch item {
                    case let .event(data):
                        if data == "[DONE]" { return reply.finished() }
                        if let piece = try reply.add(chunk: data), !piece.isEmpty { onText(piece) }
                    case let .whole(status, body):
                        guard status == 200 else { throw .status(backend: name, code: status, body: ReplyAccumulator.excerpt(String(decoding: body, as: UTF8.self))) }
                        let text = try reply.add(completion: body)
                        if !text.isEmpty { onText(text) }
                        return reply.finished()
                    case .end:
                        // A stream that ends without [DONE] is complete if it said why it stopped.
                        guard reply.finishReason != nil else {
                            let hint = tools.isEmpty || !streamsWithTools ? "" : " (if this server cannot stream replies that may call tools, set reasoning.stream_with_tools = false)"
                            throw .malformed(backend: name, reason: "the stream ended before the reply did\(hint)")
                        }
                        return reply.finished()
                    case let .failure(error):
                        throw Self.failure(error, backend: name, timeout: options.timeout)
                    }
                }
            }
        } catch {
            task.cancel()
            throw error
        }
    }

    private func headers() -> HTTPHeaders {
        var h: HTTPHeaders = ["content-type": "application/json", "accept": "text/event-stream"]
        if !apiKey.isEmpty { h.add(name: "authorization", value: "Bearer \(apiKey)") }
        return h
    }

    /// The request's JSON.
    static func body(model: String, messages: [Message], tools: [ToolDefinition], options: ChatOptions, stream: Bool) throws -> Data {
        var json: [String: Any] = [
            "model": model, "stream": stream, "max_tokens": options.maxTokens,
            "messages": messages.map { m -> [String: Any] in
                var o: [String: Any] = ["role": m.role.rawValue, "content": m.content]
                if !m.toolCalls.isEmpty {
                    o["tool_calls"] = m.toolCalls.map { ["id": $0.id, "type": "function", "function": ["name": $0.name, "arguments": $0.arguments]] }
                }
                if let id = m.toolCallID { o["tool_call_id"] = id }
                return o
            },
        ]
        if let t = options.temperature { json["temperature"] = t }
        if !tools.isEmpty {
            json["tools"] = try tools.map { t -> [String: Any] in
                let parameters = try JSONSerialization.jsonObject(with: Data(t.parameters.utf8))
                return ["type": "function", "function": ["name": t.name, "description": t.description, "parameters": parameters]]
            }
            switch options.toolChoice {
            case .auto: json["tool_choice"] = "auto"
            case .none: json["tool_choice"] = "none"
            case let .function(name): json["tool_choice"] = ["type": "function", "function": ["name": name]]
            }
        }
        return try JSONSerialization.data(withJSONObject: json)
    }

    /// What the client's error means; its own timeouts are the reply's.
    static func failure(_ error: Error, backend: String, timeout: Duration) -> BackendFailure {
        if let failure = error as? BackendFailure { return failure }
        if let e = error as? HTTPClientError, e == .deadlineExceeded || e == .readTimeout {
            return .timedOut(backend: backend, seconds: timeout.seconds)
        }
        return .unreachable(backend: backend, reason: "\(error)")
    }
}

/// What the event loop hands the waiting worker thread.
enum StreamItem: Sendable {
    case event(String)
    /// A response that is not an event stream (or not a success): its status and body.
    case whole(status: Int, body: [UInt8])
    case end
    case failure(Error)
}

/// A queue from the event loop to the worker thread that waits on it.
final class Inbox: Sendable {
    private let items = Mutex<[StreamItem]>([])
    private let signal = DispatchSemaphore(value: 0)

    func put(_ new: [StreamItem]) {
        guard !new.isEmpty else { return }
        items.withLock { $0 += new }
        signal.signal()
    }

    func wait(milliseconds: Int) { _ = signal.wait(timeout: .now() + .milliseconds(milliseconds)) }

    func take() -> [StreamItem] { items.withLock { i in defer { i.removeAll() }; return i } }
}

/// Reads the response on the event loop: events as they complete, or a whole body (bounded).
final class StreamDelegate: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void
    // Touched only on the connection's event loop, one call at a time.
    private var parser = ServerSentEvents()
    private var streaming = false
    private var status = 0
    private var body: [UInt8] = []
    private let inbox: Inbox
    private let backend: String
    static let bodyLimit = 1 << 20

    init(_ inbox: Inbox, backend: String) {
        self.inbox = inbox
        self.backend = backend
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status = Int(head.status.code)
        streaming = status == 200 && head.headers["content-type"].contains { $0.lowercased().hasPrefix("text/event-stream") }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        if streaming {
            do { inbox.put(try parser.feed(buffer.readableBytesView).map { .event($0) }) } catch {
                inbox.put([.failure(BackendFailure.malformed(backend: backend, reason: "\(error)"))])
                task.cancel()
            }
        } else if body.count < Self.bodyLimit {
            body += buffer.readableBytesView.prefix(Self.bodyLimit - body.count)
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        inbox.put([streaming ? .end : .whole(status: status, body: body)])
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: Error) { inbox.put([.failure(error)]) }
}

/// The reply as its chunks come: text pieces, tool calls by index (a call's id and name come once,
/// its arguments in pieces), and why it stopped.
struct ReplyAccumulator {
    let backend: String
    var text = ""
    var calls: [Int: ToolCall] = [:]
    var finishReason: String?

    init(backend: String) { self.backend = backend }

    /// One streamed chunk (`chat.completion.chunk`); returns the text it adds.
    mutating func add(chunk: String) throws(BackendFailure) -> String? {
        let object = try parse(Data(chunk.utf8))
        guard let choices = object["choices"] as? [[String: Any]] else {
            throw .malformed(backend: backend, reason: "a chunk has no choices: \(Self.excerpt(chunk))")
        }
        guard let choice = choices.first else { return nil }  // e.g. a usage-only chunk
        if let reason = choice["finish_reason"] as? String { finishReason = reason }
        guard let delta = choice["delta"] as? [String: Any] else { return nil }
        try addCalls(delta["tool_calls"])
        guard let piece = delta["content"] as? String else { return nil }
        text += piece
        return piece
    }

    /// A whole `chat.completion` (a server that did not stream); returns its text.
    mutating func add(completion body: [UInt8]) throws(BackendFailure) -> String {
        let object = try parse(Data(body))
        guard let choice = (object["choices"] as? [[String: Any]])?.first, let message = choice["message"] as? [String: Any] else {
            throw .malformed(backend: backend, reason: "no choices[0].message in \(Self.excerpt(String(decoding: body, as: UTF8.self)))")
        }
        finishReason = choice["finish_reason"] as? String ?? "stop"
        try addCalls(message["tool_calls"])
        text = message["content"] as? String ?? ""
        return text
    }

    func finished() -> ChatReply {
        ChatReply(text: text, toolCalls: calls.keys.sorted().compactMap { calls[$0] }, finishReason: finishReason ?? "stop")
    }

    private func parse(_ data: Data) throws(BackendFailure) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .malformed(backend: backend, reason: "not a JSON object: \(Self.excerpt(String(decoding: data, as: UTF8.self)))")
        }
        if let error = object["error"] {  // some servers report a failure inside the stream
            let message = (error as? [String: Any])?["message"] as? String ?? "\(error)"
            throw .model(backend: backend, reason: message)
        }
        return object
    }

    private mutating func addCalls(_ value: Any?) throws(BackendFailure) {
        guard let list = value as? [[String: Any]] else { return }
        for (position, entry) in list.enumerated() {
            let index = entry["index"] as? Int ?? position
            var call = calls[index] ?? ToolCall(id: "", name: "", arguments: "")
            if let id = entry["id"] as? String, !id.isEmpty { call.id = id }
            if let function = entry["function"] as? [String: Any] {
                // Some servers repeat the name in every chunk: it is a name, not a piece of one.
                if let name = function["name"] as? String, !name.isEmpty, call.name.isEmpty { call.name = name }
                if let arguments = function["arguments"] as? String { call.arguments += arguments }
            }
            calls[index] = call
        }
        for (index, call) in calls where call.id.isEmpty { calls[index]?.id = "call_\(index)" }
    }

    /// The start of a text for a message (a server's body can be a whole web page).
    static func excerpt(_ text: String) -> String {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.count > 200 ? String(t.prefix(200)) + "..." : t
    }
}
