import Foundation
import MicroturnCore
import MicroturnAudio
import MicroturnLink
import Synchronization
@testable import MicroturnServer
import Testing
import TestSupport

/// The reasoning stage's parts on their own: the event-stream reader, the reply's accumulation
/// from chunks, the knowledge file and the server's tools.
@Suite(.ownThreads) struct ReasoningPartsTests {
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
        let dir = Scratch.directory.appendingPathComponent("knowledge-\(UUID().uuidString)").path
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
        #expect(tools.lookUp(for: "What day is it today?").facts == ["It is 14:05 on Thursday, 3 December 2026."])
        #expect(tools.lookUp(for: "Are you open on Sunday?").facts == ["We are closed on Sundays."])
    }
}

@Suite(.ownThreads) struct WholeSentenceTests {
    @Test func aReplyCutByItsBudgetEndsAtItsLastWholeSentence() {
        #expect(Reasoner.wholeSentences("We open at nine. On Sundays we are clo") == "We open at nine.")
        #expect(Reasoner.wholeSentences("Is it open? Yes! And then") == "Is it open? Yes!")
        #expect(Reasoner.wholeSentences("no sentence end at all") == "no sentence end at all")
        // A call written as text is no answer.
        #expect(Reasoner.isCallWrittenAsText("functions.set_timer:") && Reasoner.isCallWrittenAsText("functions.get_time(seconds=0)"))
        #expect(!Reasoner.isCallWrittenAsText("functions. are what a tool does") && !Reasoner.isCallWrittenAsText("We open at nine."))
    }
}

/// The answer streams to the device a sentence at a time: the first is said while the rest is
/// written; the final RESULT holds the whole answer for a device that missed the parts.
@Suite(.ownThreads) struct StreamedAnswerTests {
    @Test func sentencesAreHandedOnAsTheyEnd() {
        var stream = SentenceStream()
        var out: [String] = []
        for piece in ["Hello", " there", ". It is 3", ".5 degrees", " today! Dr", ". Smith is in", "? Yes. And", " more"] {
            out += stream.add(piece)
        }
        #expect(out == ["Hello there.", "It is 3.5 degrees today!", "Dr. Smith is in?", "Yes."])
        #expect(stream.text(keepingTail: true) == "Hello there. It is 3.5 degrees today! Dr. Smith is in? Yes. And more")
        #expect(stream.text(keepingTail: false) == "Hello there. It is 3.5 degrees today! Dr. Smith is in? Yes.")
        // A closing quote or bracket stays with its sentence.
        var quoted = SentenceStream()
        #expect(quoted.add("He said \"go.\" Then left. ") == ["He said \"go.\"", "Then left."])
    }

    static func worker(_ backend: ChatBackend) throws -> ReasoningWorker {
        ReasoningWorker(transcriber: try TranscribingWorker(), reasoner: BackendFailureTests.reasoner(backend), memory: ConversationMemory(store: nil))
    }

    static func ask(_ worker: ReasoningWorker, _ question: String) -> (parts: [Microturn_Link_V1_Result], final: Microturn_Link_V1_Result) {
        let sent = Mutex<[Microturn_Link_V1_Result]>([])
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-1"
        task.transcript = question
        let report = TaskReport(taskID: "t-1") { body in if case let .result(r) = body { sent.withLock { $0.append(r) } } }
        let final = worker.answer(ServerSessions.Job(deviceId: "kiosk-1", task: task, opus: []), report)
        return (sent.withLock { $0 }, final)
    }

    @Test func eachSentenceGoesAheadAndTheFinalResultHoldsTheWholeAnswer() throws {
        let c = { (delta: String, finish: String?) in BackendFailureTests.chunk(delta, finish: finish) }
        // A reply cut by its token budget: its unfinished last sentence is not said.
        let server = try ScriptedHTTPServer([.events([c(#"{"content":"The museum opens"}"#, nil), c(#"{"content":" at nine. It closes at"}"#, nil),
                                                      c(#"{"content":" five. On Sund"}"#, "length"), "[DONE]"])])
        defer { server.stop() }
        let (parts, final) = Self.ask(try Self.worker(OpenAIChatBackend(baseURL: server.baseURL, model: "m")), "When is the museum open?")
        #expect(parts.map(\.text) == ["The museum opens at nine.", "It closes at five."])
        #expect(parts.map(\.part) == [0, 1] && parts.allSatisfy { !$0.final && $0.taskID == "t-1" })
        #expect(final.final && final.part == 2 && final.text == "The museum opens at nine. It closes at five.")
    }

    @Test func aDeviceThatAsksForSpeechGetsEachSentenceAsOpusAheadOfIt() throws {
        let c = { (delta: String, finish: String?) in BackendFailureTests.chunk(delta, finish: finish) }
        let reply = [c(#"{"content":"The museum opens at nine. It closes"}"#, nil), c(#"{"content":" at five"}"#, "stop"), "[DONE]"]
        let server = try ScriptedHTTPServer([.events(reply), .events(reply)])
        defer { server.stop() }
        let worker = ReasoningWorker(transcriber: try TranscribingWorker(), reasoner: BackendFailureTests.reasoner(OpenAIChatBackend(baseURL: server.baseURL, model: "m")),
                                     memory: ConversationMemory(store: nil), speech: try SpeechStage())
        let sent = Mutex<[LinkBody]>([])
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-2"
        task.transcript = "When is the museum open?"
        let report = TaskReport(taskID: "t-2") { body in sent.withLock { $0.append(body) } }
        let final = worker.answer(ServerSessions.Job(deviceId: "kiosk-1", task: task, opus: [], capabilities: [LinkCapabilities.serverSpeech]), report)
        var streams: [String: [Data]] = [:], order: [String] = []
        for body in sent.withLock({ $0 }) {
            switch body {
            case let .audio(a):
                if streams[a.streamID] == nil { order.append(a.streamID) }
                #expect(Int(a.firstPacket) == streams[a.streamID, default: []].count, "packets in order, none missing")
                streams[a.streamID, default: []] += a.opus
            case let .result(r):
                // Its speech came whole before it.
                #expect(r.audioStreamID == "t-2/0" && order == ["t-2/0"] && r.text == "The museum opens at nine.")
            default: break
            }
        }
        #expect(final.audioStreamID == "t-2/final" && order == ["t-2/0", "t-2/final"] && final.text == "The museum opens at nine. It closes at five")
        // About as long as espeak-ng says it (175 words a minute): a second or two each.
        for id in order {
            let decoder = try Opus.Decoder()
            let samples = try streams[id, default: []].flatMap { try decoder.decode(Array($0)) }
            #expect(samples.count > 8_000 && samples.count < 64_000, "\(id): \(samples.count) samples")
            #expect(samples.map { $0 * $0 }.reduce(0, +) / Float(samples.count) > 1e-4, "\(id) is speech, not silence")
        }
        // Without the capability: text only.
        let plain = StreamedAnswerTests.ask(worker, "When is the museum open?")
        #expect(plain.parts.count == 1 && plain.final.text == final.text)
        #expect(plain.final.audioStreamID.isEmpty && plain.parts.allSatisfy { $0.audioStreamID.isEmpty })
    }

    @Test func aBackendThatFailsAfterASentenceIsNotAskedAgain() throws {
        let c = { (delta: String, finish: String?) in BackendFailureTests.chunk(delta, finish: finish) }
        // Garbage after the first sentence: the answer ends with what was said, and the backend is
        // not asked again (the device may already be saying the first sentence).
        let server = try ScriptedHTTPServer([.events([c(#"{"content":"The cafe is on the left. It"}"#, nil), "this is not json"]),
                                             .events(BackendFailureTests.hello)])
        defer { server.stop() }
        let worker = try Self.worker(OpenAIChatBackend(baseURL: server.baseURL, model: "m"))
        let (parts, final) = Self.ask(worker, "Where is the cafe?")
        #expect(parts.map(\.text) == ["The cafe is on the left."])
        #expect(final.text == "The cafe is on the left." && final.part == 1)
        #expect(server.requests.withLock { $0.count } == 1)
        #expect(worker.memory.history(device: "kiosk-1").last == Message(.assistant, "The cafe is on the left."))
    }
}

/// The device's tools as the server sees them: offered by capability, asked first for a model that
/// calls no tools when the question plainly needs them.
@Suite(.ownThreads) struct DeviceToolsTests {
    @Test func durationsAreReadFromAQuestion() {
        #expect(DeviceTools.duration(in: "set a timer for 5 minutes please") == 300)
        #expect(DeviceTools.duration(in: "a timer for ninety seconds?") == 90)
        #expect(DeviceTools.duration(in: "timer, an hour") == 3600)
        #expect(DeviceTools.duration(in: "start a timer") == nil)
        #expect(DeviceTools.duration(in: "timer for 99999999999999999999 hours") == nil)
        #expect(DeviceTools.duration(in: "timer for 9223372036854775807 hours") == nil)
    }

    @Test func onlyTheDevicesOwnToolsAreOfferedAndAskedWhenTheQuestionNeedsThem() {
        let asked = Mutex<[String]>([])
        let device = DeviceTools(capabilities: ["opus16k", "tool:timer"]) { name, arguments, _ in
            asked.withLock { $0.append(name + " " + arguments) }
            return .result(#"{"summary":"A timer for 2 minutes is set."}"#)
        }
        let tools = ServerTools().with(device: device)
        #expect(tools.definitions.map(\.name) == ["current_time", "set_timer", "cancel_timer"])
        let timer = tools.lookUp(for: "Set a timer for two minutes.")
        #expect(timer.facts == ["A timer for 2 minutes is set."] && timer.deviceCalls.map(\.name) == ["set_timer"])
        #expect(tools.lookUp(for: "How many reps have I done?").facts.isEmpty, "no camera: the count is not asked")
        _ = tools.lookUp(for: "Cancel the timer.")
        #expect(asked.withLock { $0 } == [#"set_timer {"seconds":120}"#, "cancel_timer {}"])
        // A call the model makes to a tool the device lacks is an error it can read.
        #expect(tools.run(ToolCall(id: "c", name: "device_reps", arguments: "{}")).text.hasPrefix("error: there is no tool named"))
    }
}

/// Remarks after a set: from its pace, only to a device that takes them, at most one a minute.
@Suite(.ownThreads) struct InterjectionTests {
    @Test func theRemarkSaysHowThePaceChanged() {
        #expect(Interjections.remark(count: 8, durations: [2, 2, 2, 2, 2.6, 2.6, 2.7, 2.6]) == "Nice set of 8; the last three were slower.")
        #expect(Interjections.remark(count: 6, durations: [2, 2, 2, 1.5, 1.5, 1.5]) == "Nice set of 6; the last three were faster.")
        #expect(Interjections.remark(count: 7, durations: [2, 2.1, 1.9, 2, 2, 2.1, 2]) == "Nice set of 7, at a steady pace.")
        // Too few to tell, or timings that make no sense.
        #expect(Interjections.remark(count: 4, durations: [2, 2, 3, 3]) == "Nice set of 4.")
        #expect(Interjections.remark(count: 6, durations: [2, .nan, .infinity, -1, 2, 2]) == "Nice set of 6.")
    }

    @Test func onlyADeviceThatTakesThemGetsThemAndNotTooOften() {
        let sent = Mutex<[String]>([])
        let interjections = Interjections(minimumGap: .seconds(60))
        var set = Microturn_Link_V1_Event()
        set.kind = .repetition
        set.count = 8
        set.text = "[2,2,2,2,2.6,2.6,2.7,2.6]"
        let takes = DeviceContact(id: "mirror-1", capabilities: [LinkCapabilities.interjections]) { body in
            if case let .result(r) = body, r.interjection, r.final { sent.withLock { $0.append(r.text) } }
        }
        let declines = DeviceContact(id: "mirror-2", capabilities: []) { _ in sent.withLock { $0.append("to a device that declines") } }
        interjections.observe(declines, set)
        interjections.observe(takes, set)
        interjections.observe(takes, set)  // within the minute: an empty remark, so the device need not wait
        #expect(sent.withLock { $0 } == ["Nice set of 8; the last three were slower.", ""])
    }
}
