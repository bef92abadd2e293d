import Foundation
import MicroturnInference
@testable import MicroturnServer
import MicroturnSimulation
import Testing
import TestSupport

/// Backends fail: down, slow, or answering garbage. None of it hangs a task: every call ends
/// within its timeout, transient failures are tried again with backoff, and a task no backend
/// answers ends with the honest short answer.
@Suite(.ownThreads) struct BackendFailureTests {
    static func chunk(_ delta: String, finish: String? = nil) -> String {
        #"{"choices":[{"index":0,"delta":\#(delta)\#(finish.map { #","finish_reason":"\#($0)""# } ?? "")}]}"#
    }

    static let hello = [chunk(#"{"content":"Hello"}"#), chunk(#"{"content":" there."}"#, finish: "stop"), "[DONE]"]

    static func reasoner(_ backend: ChatBackend, fallback: ChatBackend? = nil, budget: Duration = .seconds(20), timeout: Duration = .seconds(5)) -> Reasoner {
        var settings = Reasoner.Settings()
        settings.budget = budget
        settings.options.timeout = timeout
        settings.backoff = .milliseconds(20)
        return Reasoner(backend: backend, fallback: fallback, tools: ServerTools(), settings: settings)
    }

    @Test func aStreamedReplyArrivesInPiecesAndTheRequestSaysWhatWasAsked() throws {
        let server = try ScriptedHTTPServer([.events(Self.hello)])
        defer { server.stop() }
        let backend = OpenAIChatBackend(baseURL: server.baseURL, model: "m")
        var pieces: [String] = []
        let reply = try backend.reply(to: [Message(.user, "hi")], tools: ServerTools().definitions,
                                      options: ChatOptions(maxTokens: 9, temperature: 0, toolChoice: .function("current_time")),
                                      cancellation: Cancellation()) { pieces.append($0) }
        #expect(pieces == ["Hello", " there."] && reply.text == "Hello there." && reply.finishReason == "stop")
        let sent = try #require(server.requests.withLock { $0.first })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(sent.utf8)) as? [String: Any])
        #expect(json["stream"] as? Bool == true && json["max_tokens"] as? Int == 9 && json["temperature"] as? Double == 0)
        #expect((json["tool_choice"] as? [String: Any])?["type"] as? String == "function")
        #expect(((json["tools"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["name"] as? String == "current_time")
    }

    @Test func garbageAndErrorsAreFailuresAndTransientOnesAreTriedAgain() throws {
        // Garbage is not retried; a 503 is, and the second try answers.
        let server = try ScriptedHTTPServer([.events(["this is not json"]), .status(503, #"{"error":"busy"}"#), .events(Self.hello)])
        defer { server.stop() }
        let backend = OpenAIChatBackend(baseURL: server.baseURL, model: "m")
        #expect(throws: BackendFailure.self) {
            try backend.reply(to: [Message(.user, "hi")], tools: [], options: ChatOptions(), cancellation: Cancellation()) { _ in }
        }
        let outcome = Self.reasoner(backend).answer("hi", cancellation: Cancellation())
        #expect(outcome.text == "Hello there." && !outcome.unanswered)
        #expect(outcome.failures == [.status(backend: server.baseURL, code: 503, body: #"{"error":"busy"}"#)])
    }

    @Test func aStalledStreamTimesOutAndADeadBackendGetsTheHonestAnswer() throws {
        let server = try ScriptedHTTPServer([.stall, .stall, .stall])
        defer { server.stop() }
        let started = ContinuousClock.now
        let stalled = Self.reasoner(OpenAIChatBackend(baseURL: server.baseURL, model: "m"), budget: .seconds(4), timeout: .milliseconds(600))
            .answer("hi", cancellation: Cancellation())
        let took = (ContinuousClock.now - started).seconds
        #expect(stalled.unanswered && stalled.text == Reasoner.unavailableAnswer)
        #expect(stalled.failures.allSatisfy { if case .timedOut = $0 { true } else { false } } && stalled.failures.count == 3, "\(stalled.failures)")
        #expect(took < 4.5, "the budget bounds the task: \(took) s")

        // Nothing listens on the port: unreachable, tried again, then the short answer (quickly).
        let dead = Self.reasoner(OpenAIChatBackend(baseURL: "http://127.0.0.1:\(ServerProcess.freePort())/v1", model: "m"))
            .answer("hi", cancellation: Cancellation())
        #expect(dead.unanswered && dead.failures.count == 3)
        #expect(dead.failures.allSatisfy { if case .unreachable = $0 { true } else { false } }, "\(dead.failures)")
    }

    @Test func aToolThatDoesNotExistIsToldToTheModelWhichThenAnswers() throws {
        let call = Self.chunk(#"{"tool_calls":[{"index":0,"id":"c1","function":{"name":"launch_rocket","arguments":"{}"}}]}"#, finish: "tool_calls")
        let server = try ScriptedHTTPServer([.events([call, "[DONE]"]), .events(Self.hello)])
        defer { server.stop() }
        let outcome = Self.reasoner(OpenAIChatBackend(baseURL: server.baseURL, model: "m")).answer("launch it", cancellation: Cancellation())
        #expect(outcome.text == "Hello there.")
        #expect(outcome.tools.count == 1 && outcome.tools[0].failed && outcome.tools[0].result.hasPrefix("error: there is no tool named \"launch_rocket\""))
        // The second request carried the call and its error back to the model.
        let second = try #require(server.requests.withLock { $0.count == 2 ? $0[1] : nil })
        #expect(second.contains("\"tool_call_id\":\"c1\"") && second.contains("no tool named"))
    }

    @Test func aToolCallWrittenAsTextIsNotSaid() throws {
        let server = try ScriptedHTTPServer([.events([Self.chunk(#"{"content":"functions.set_timer:"}"#, finish: "stop"), "[DONE]"])])
        defer { server.stop() }
        let outcome = Self.reasoner(OpenAIChatBackend(baseURL: server.baseURL, model: "m")).answer("where is the cafe", cancellation: Cancellation())
        #expect(outcome.unanswered && outcome.text == Reasoner.unavailableAnswer)
        #expect(outcome.failures.count == 1 && "\(outcome.failures[0])".contains("a tool call written as text"), "\(outcome.failures)")
    }

    @Test func aCancelledTaskStopsItsBackendCall() throws {
        let server = try ScriptedHTTPServer([.stall])
        defer { server.stop() }
        let cancellation = Cancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel() }
        let started = ContinuousClock.now
        let outcome = Self.reasoner(OpenAIChatBackend(baseURL: server.baseURL, model: "m"), timeout: .seconds(30)).answer("hi", cancellation: cancellation)
        #expect(outcome.cancelled && (ContinuousClock.now - started).seconds < 5)
    }
}

/// The http_get tool: pages from the allow-list only, bounded in size and time.
@Suite(.ownThreads) struct HTTPToolTests {
    @Test func onlyAllowedPagesAreFetchedAndBigOnesAreRefused() throws {
        let page = String(repeating: "Sunny and 21 degrees. ", count: 100)
        let server = try ScriptedHTTPServer([.status(200, page), .status(404, "no"), .status(200, String(repeating: "x", count: 100_000))])
        defer { server.stop() }
        let root = "http://127.0.0.1:\(server.port)/weather"
        let tools = ServerTools(httpAllow: [root])
        #expect(tools.definitions.map(\.name) == ["current_time", "http_get"])
        func get(_ url: String) -> ServerTools.Outcome { tools.run(ToolCall(id: "h", name: "http_get", arguments: #"{"url":"\#(url)"}"#)) }
        guard case let .result(text) = get(root + "/today") else { Issue.record("an allowed page is fetched"); return }
        #expect(text.hasPrefix("Sunny and 21 degrees.") && text.count <= 1503)
        #expect(get(root + "/missing").text.contains("HTTP 404"))
        #expect(get(root + "/big").text.contains("could not be fetched"), "a page over 64 KB is refused")
        // Not under the prefix (at a path boundary): refused without a request.
        let asked = server.requests.withLock { $0.count }
        for url in ["http://127.0.0.1:\(server.port)/weather-admin", "http://127.0.0.1:\(server.port)/", "file:///etc/passwd", "http://127.0.0.1:\(server.port)/weatherx"] {
            #expect(get(url).text.contains("is not an allowed source"), "\(url)")
        }
        #expect(server.requests.withLock { $0.count } == asked)
        #expect(ServerTools().run(ToolCall(id: "h", name: "http_get", arguments: #"{"url":"\#(root)"}"#)).text.contains("no tool named"), "no allow-list: no tool")
    }
}

/// With a fallback set, a backend that stalls to the end of its share of the budget still leaves
/// the fallback the time to answer.
@Suite(.ownThreads) struct FallbackTests {
    @Test func theFallbackAnswersWhenTheBackendStalls() throws {
        let stalled = try ScriptedHTTPServer([.stall, .stall, .stall, .stall])
        defer { stalled.stop() }
        let healthy = try ScriptedHTTPServer([.events(BackendFailureTests.hello)])
        defer { healthy.stop() }
        var settings = Reasoner.Settings()
        settings.budget = .seconds(3)
        settings.fallbackReserve = .seconds(1)
        settings.backoff = .milliseconds(20)
        settings.options.timeout = .seconds(30)  // longer than the budget: the budget decides
        let reasoner = Reasoner(backend: OpenAIChatBackend(baseURL: stalled.baseURL, model: "m"),
                                fallback: OpenAIChatBackend(baseURL: healthy.baseURL, model: "m"), tools: ServerTools(), settings: settings)
        let started = ContinuousClock.now
        let outcome = reasoner.answer("hi", cancellation: Cancellation())
        #expect(outcome.text == "Hello there." && outcome.backend == healthy.baseURL && !outcome.unanswered, "\(outcome.failures)")
        #expect(outcome.failures.allSatisfy { if case .timedOut = $0 { true } else { false } } && !outcome.failures.isEmpty)
        #expect((ContinuousClock.now - started).seconds < 3.5)
    }
}
