import Foundation
import MicroturnAudio
import MicroturnInference
@testable import MicroturnServer
import MicroturnLink
import MicroturnSimulation
import Synchronization
import Testing
import TestSupport

/// The reasoning stage with real models: SmolLM2-135M-Instruct behind llama-cpp-python's own
/// OpenAI-compatible server on loopback (streaming, a tool call), and in our engine as the
/// built-in backend (a task answered, and its exchange remembered across a restart).
@Suite(.serialized, .ownThreads) struct RealBackendTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// What the test waits for is the reply, not its speed: on a CI host running the other suites
    /// beside it, 24 tokens from llama-cpp-python once took longer than the backend's 30 s default.
    static let loadedHostTimeout: Duration = .seconds(180)

    static func model() throws -> String {
        let path = repository.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is missing: run tools/fetch-model.sh")
        return path
    }

    @Test func llamaCppPythonsServerStreamsARepliesAndCallsATool() throws {
        let server = try LlamaServerProcess(model: try Self.model(), threads: 2)
        let backend = OpenAIChatBackend(baseURL: server.baseURL, model: "smollm2")
        var pieces: [String] = []
        let reply = try backend.reply(to: [Message(.user, "Say hello to a visitor in one short sentence.")], tools: [],
                                      options: ChatOptions(maxTokens: 24, timeout: Self.loadedHostTimeout, temperature: 0), cancellation: Cancellation()) { pieces.append($0) }
        #expect(pieces.count > 1, "streamed in pieces: \(pieces)")
        #expect(pieces.joined() == reply.text && !reply.text.trimmingCharacters(in: .whitespaces).isEmpty)

        // A tool call (the model is told it must call current_time): its name, an id, and
        // arguments that a 135M model may well not have written as JSON (the tool then says so).
        let tools = ServerTools()
        let called = try backend.reply(to: [Message(.user, "What time is it?")], tools: tools.definitions,
                                       options: ChatOptions(maxTokens: 24, timeout: Self.loadedHostTimeout, temperature: 0, toolChoice: .function("current_time")),
                                       cancellation: Cancellation()) { _ in }
        let call = try #require(called.toolCalls.first, "\(called)")
        #expect(call.name == "current_time" && !call.id.isEmpty)
        if case .result = tools.run(call) {} else { #expect(tools.run(call).text.contains("not a JSON object"), "\(call.arguments)") }

        // This server cannot stream a reply whose tool call is the model's choice (it ends the
        // stream empty). Told so (reasoning.stream_with_tools = false), the reasoner asks with
        // tools whole: the model calls current_time, the reasoner runs it (once: a model asking
        // again for what it has is made to answer) and the model answers, streamed, after it.
        let whole = OpenAIChatBackend(baseURL: server.baseURL, model: "smollm2", streamsWithTools: false)
        var settings = Reasoner.Settings()
        settings.options.temperature = 0
        settings.options.maxTokens = 48
        Self.waitForTheModel(&settings)
        var answered: [String] = []
        let outcome = Reasoner(backend: whole, tools: tools, settings: settings).answer("What time is it?", cancellation: Cancellation()) { answered.append($0) }
        #expect(!outcome.unanswered && !outcome.text.isEmpty && outcome.backend == server.baseURL, "\(outcome.failures)")
        #expect(outcome.tools.map(\.name) == ["current_time"] && !outcome.tools[0].failed, "\(outcome.tools)")
        // Each sentence went ahead as it was written; the answer is them and what followed.
        #expect(outcome.sentencesAhead == answered.count && outcome.text.hasPrefix(answered.joined(separator: " ")), "\(answered) \(outcome.text)")
    }

    /// These check the flow, not the speed: the model's reply is waited for, however slowly the
    /// other suites running beside it let the server write it (one took over 25 s, the default
    /// budget, in a CI run).
    static func waitForTheModel(_ settings: inout Reasoner.Settings) {
        settings.budget = .seconds(600)
        settings.options.timeout = .seconds(600)
    }

    @Test func aSegmentOfLiveTranslationIsTranslatedThroughTheServerAndSpokenInItsLanguage() throws {
        // The flow, not the quality: a 135M model translates poorly.
        let server = try LlamaServerProcess(model: try Self.model(), threads: 2)
        var settings = Reasoner.Settings()
        settings.options.temperature = 0
        settings.options.maxTokens = 32
        Self.waitForTheModel(&settings)
        let memory = ConversationMemory(store: nil)
        let worker = ReasoningWorker(transcriber: try TranscribingWorker(),
                                     reasoner: Reasoner(backend: OpenAIChatBackend(baseURL: server.baseURL, model: "smollm2"), tools: ServerTools(), settings: settings),
                                     memory: memory, speech: try SpeechStage())
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-es"
        task.transcript = "Where is the train station?"
        task.context = [LinkTaskContext.translate: "es"]
        let sent = Mutex<[LinkBody]>([])
        let job = ServerSessions.Job(deviceId: "kiosk-1", task: task, opus: [], capabilities: [SpeechStage.capability])
        let result = worker.answer(job, TaskReport(taskID: "t-es") { body in sent.withLock { $0.append(body) } })
        #expect(result.final && !result.text.isEmpty && result.text != Reasoner.unavailableAnswer, "\(result)")
        // Spoken by the server (AUDIO ahead of the RESULTs), in the language's voice (the stage
        // takes the voice it is given: one espeak-ng lacks is an error).
        let audio = sent.withLock { $0 }.compactMap { if case let .audio(a) = $0 { a } else { nil } }
        #expect(!audio.isEmpty && audio.last?.end == true)
        #expect(throws: AudioError.self) { try SpeechStage().speak("hola", streamID: "x", voice: "xx-none") { _ in } }
        // Not part of the conversation: nothing remembered; an unknown language is said so.
        #expect(memory.history(device: "kiosk-1").isEmpty)
        task.context = [LinkTaskContext.translate: "xx"]
        let refused = worker.answer(ServerSessions.Job(deviceId: "kiosk-1", task: task, opus: []), TaskReport(taskID: "t-xx"))
        #expect(refused.text == "I can't translate into xx.")
    }

    @Test func theBuiltInModelAnswersATaskAndItsMemorySurvivesARestart() throws {
        let dir = Scratch.directory.appendingPathComponent("reasoning-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builtin = try BuiltinChatBackend(path: try Self.model(), threads: 2)
        let knowledge = KnowledgeFile(facts: [.init(topic: "hours sunday", text: "The museum is closed on Sundays.")])
        var settings = Reasoner.Settings()
        settings.options.maxTokens = 40
        let reasoner = Reasoner(backend: builtin, tools: ServerTools(knowledge: knowledge), settings: settings)
        let store = try SQLiteTaskStore(path: dir + "/tasks.sqlite")
        let worker = ReasoningWorker(transcriber: try TranscribingWorker(), reasoner: reasoner, memory: ConversationMemory(store: store))
        var task = Microturn_Link_V1_Task()
        task.taskID = "t-1"
        task.transcript = "Is the museum open on Sunday?"
        let answer = worker.answer(ServerSessions.Job(deviceId: "kiosk-1", task: task, opus: []), TaskReport(taskID: "t-1"))
        #expect(answer.final && answer.taskID == "t-1" && !answer.text.isEmpty && answer.text != Reasoner.unavailableAnswer)

        // The built-in model was given the fact (it calls no tools): the prompt it read holds it.
        let asked = reasoner.answer("Is the museum open on Sunday?", cancellation: Cancellation())
        #expect(asked.backend == builtin.name && asked.tools.isEmpty)

        // The exchange is remembered, in the store: a new memory over a reopened store (a restarted
        // server) has it, and the follow-up is asked after it.
        let reopened = ConversationMemory(store: try SQLiteTaskStore(path: dir + "/tasks.sqlite"))
        #expect(reopened.history(device: "kiosk-1") == [Message(.user, "Is the museum open on Sunday?"), Message(.assistant, answer.text)])
        #expect(reopened.history(device: "another").isEmpty)
    }

    @Test func memoryKeepsTheLatestExchangesWithinItsBudget() {
        let memory = ConversationMemory(store: nil, characterBudget: 100)
        for k in 0..<5 { memory.remember(device: "d", question: "question \(k) " + String(repeating: "x", count: 20), answer: "answer \(k)") }
        let kept = memory.history(device: "d")
        #expect(kept.count == 4 && kept[0].content.hasPrefix("question 3") && kept[3].content == "answer 4")
        #expect(kept.reduce(0) { $0 + $1.content.count } <= 100)
    }
}

/// An answer the user talked over is remembered as far as it was heard.
@Suite(.ownThreads) struct InterruptedMemoryTests {
    @Test func theRememberedAnswerIsWhatWasHeard() {
        let memory = ConversationMemory(store: nil)
        memory.remember(device: "d", question: "When do you open?", answer: "We open at nine on weekdays and at ten on Saturdays.")
        memory.remember(device: "d", question: "Where is the cafe?", answer: "The cafe is on the second floor.")
        memory.interrupted(device: "d", heard: "We open at nine")
        #expect(memory.history(device: "d")[1].content == "We open at nine (the user talked over the rest)")
        memory.interrupted(device: "d", heard: "")  // the latest answer not heard at all
        #expect(memory.history(device: "d")[3].content == "(the user talked over this answer before hearing any of it)")
        memory.interrupted(device: "d", heard: "Something never said")
        #expect(memory.history(device: "d").count == 4 && memory.history(device: "d")[1].content.hasPrefix("We open at nine ("))
    }
}
