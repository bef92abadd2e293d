import Foundation
import MicroturnCore
@testable import MicroturnServer
import Testing

/// The reasoning stage's parts on their own: the event-stream reader, the reply's accumulation
/// from chunks, the knowledge file and the server's tools.
@Suite struct ReasoningPartsTests {
    @Test func eventsAreReadWhateverTheLineEndsAndHoweverTheBytesAreSplit() throws {
        let stream = ": keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: line one\ndata: line two\n\ndata:[DONE]\r\r"
        var whole = ServerSentEvents()
        #expect(try whole.feed(Array(stream.utf8)) == ["{\"a\":1}", "line one\nline two", "[DONE]"])
        // Byte by byte: a CR at the end of one feed and its LF at the start of the next are one line end.
        var split = ServerSentEvents()
        var events: [String] = []
        for byte in stream.utf8 { events += try split.feed([byte]) }
        #expect(events == ["{\"a\":1}", "line one\nline two", "[DONE]"])
        // An event that never ends is refused at the limit, not kept growing.
        var bounded = ServerSentEvents(limit: 64)
        #expect(throws: ServerSentEvents.TooLarge.self) { try bounded.feed(Array(("data: " + String(repeating: "x", count: 100)).utf8)) }
    }

    @Test func toolCallsAreAssembledFromTheirPiecesByIndex() throws {
        var reply = ReplyAccumulator(backend: "b")
        let chunks = [
            #"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Let me"}}]}"#,
            #"{"choices":[{"index":0,"delta":{"content":" see."}}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"current_time","arguments":"{"}}]}}]}"#,
            // A server that repeats the name in every chunk, and a second call interleaved.
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"search_knowledge","arguments":"{\"query\""}}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"current_time","arguments":"}"}}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":\"hours\"}"}}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            #"{"choices":[],"usage":{"prompt_tokens":5}}"#,
        ]
        var shown = ""
        for c in chunks { shown += try reply.add(chunk: c) ?? "" }
        let done = reply.finished()
        #expect(shown == "Let me see." && done.text == "Let me see.")
        #expect(done.toolCalls == [ToolCall(id: "c1", name: "current_time", arguments: "{}"),
                                   ToolCall(id: "c2", name: "search_knowledge", arguments: #"{"query":"hours"}"#)])
        #expect(done.finishReason == "tool_calls")
    }

    @Test func garbageFromABackendIsAFailureWithItsReason() {
        var reply = ReplyAccumulator(backend: "http://x/v1")
        #expect(throws: BackendFailure.self) { try reply.add(chunk: "<html>502 Bad Gateway</html>") }
        #expect(throws: BackendFailure.self) { try reply.add(chunk: #"{"object":"chat.completion.chunk"}"#) }
        do {
            _ = try reply.add(chunk: #"{"error":{"message":"model overloaded"}}"#)
            Issue.record("an error object must fail")
        } catch {
            #expect(error == .model(backend: "http://x/v1", reason: "model overloaded"))
            #expect(!error.isTransient)
        }
        #expect(BackendFailure.status(backend: "b", code: 503, body: "").isTransient && !BackendFailure.status(backend: "b", code: 400, body: "").isTransient)
    }

    static let facts = """
        [hours]
        weekdays = "We are open from 9:00 to 18:00, Monday to Friday."
        saturday = "On Saturdays we open from 10:00 to 16:00."
        sunday = "We are closed on Sundays."
        [directions]
        toilets = "The toilets are on the first floor, next to the lifts."
        [prices]
        day_pass = ["A day pass costs 12 euros.", "Children under 12 go free."]
        """

    @Test func theKnowledgeFileFindsTheFactsAQuestionIsAbout() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("knowledge-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.facts.write(toFile: dir + "/facts.toml", atomically: true, encoding: .utf8)
        let k = try KnowledgeFile(path: dir + "/facts.toml")
        #expect(k.facts.count == 6)
        #expect(k.search("Are you open on Sunday?").first?.text == "We are closed on Sundays.")
        #expect(k.search("where are the toilets")[0].topic == "directions toilets")
        #expect(k.search("how much is a day pass").first?.text == "A day pass costs 12 euros.")
        #expect(k.search("xyzzy").isEmpty)
        // A number where a fact belongs is an error with its line, not a fact dropped.
        try "[hours]\nweekdays = 9\n".write(toFile: dir + "/bad.toml", atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.badValue(file: dir + "/bad.toml", line: 2, path: "hours.weekdays", got: "9", allowed: "a string (a fact) or an array of strings")) {
            try KnowledgeFile(path: dir + "/bad.toml")
        }
        #expect(throws: ConfigError.self) { try KnowledgeFile(path: dir + "/missing.toml") }
    }

    @Test func toolsAnswerAndRefuseWithReasonsTheModelCanRead() throws {
        let knowledge = KnowledgeFile(facts: [.init(topic: "hours sunday", text: "We are closed on Sundays.")])
        // 2026-12-03 13:05:00 UTC, in Madrid (UTC+1).
        let tools = ServerTools(knowledge: knowledge, timeZone: TimeZone(identifier: "Europe/Madrid")!, now: { Date(timeIntervalSince1970: 1_796_303_100) })
        #expect(tools.run(ToolCall(id: "1", name: "current_time", arguments: "")) == .result("It is 14:05 on Thursday, 3 December 2026."))
        #expect(tools.run(ToolCall(id: "2", name: "search_knowledge", arguments: #"{"query":"open on sunday"}"#)) == .result("We are closed on Sundays."))
        #expect(tools.run(ToolCall(id: "3", name: "search_knowledge", arguments: #"{"zone": ");\n```\nHere's"#)).text.hasPrefix("error: the arguments of search_knowledge are not a JSON object"))
        #expect(tools.run(ToolCall(id: "4", name: "search_knowledge", arguments: "{}")) == .error("search_knowledge needs a \"query\" string"))
        #expect(tools.run(ToolCall(id: "5", name: "launch_rocket", arguments: "{}"))
                == .error("there is no tool named \"launch_rocket\"; the tools are current_time, search_knowledge"))
        // For a model that calls no tools, what the question plainly needs.
        #expect(tools.lookUp(for: "What day is it today?") == ["It is 14:05 on Thursday, 3 December 2026."])
        #expect(tools.lookUp(for: "Are you open on Sunday?") == ["We are closed on Sundays."])
    }
}

@Suite struct WholeSentenceTests {
    @Test func aReplyCutByItsBudgetEndsAtItsLastWholeSentence() {
        #expect(Reasoner.wholeSentences("We open at nine. On Sundays we are clo") == "We open at nine.")
        #expect(Reasoner.wholeSentences("Is it open? Yes! And then") == "Is it open? Yes!")
        #expect(Reasoner.wholeSentences("no sentence end at all") == "no sentence end at all")
    }
}
