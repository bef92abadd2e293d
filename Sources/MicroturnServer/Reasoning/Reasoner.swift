import Foundation
import MicroturnInference

/// One task's thinking: the question after the device's recent exchanges, with tool calls run in
/// rounds, all within the task's time budget. A backend that fails for a passing reason (down,
/// slow, overloaded) is tried again after a pause that doubles; then the fallback backend answers
/// (when one is set), and failing that the device gets an honest short answer. Never a hang: every
/// call has a timeout, and the budget bounds them all.
public struct Reasoner: Sendable {
    public struct Settings: Sendable, Equatable {
        public var systemPrompt = "You are the voice of a helpful device in a public place. Answer in one or two short spoken sentences, without lists or markup. When a question needs facts, use the tools or the facts given."
        /// Rounds of tool calls before the model must answer with what it has.
        public var maxToolRounds = 3
        /// The whole task's reasoning.
        public var budget: Duration = .seconds(25)
        /// Tries again after a transient failure, waiting `backoff`, then twice that, ...
        public var retries = 2
        public var backoff: Duration = .milliseconds(250)
        /// Kept back from the first backend for the fallback (at most half the budget), so that a
        /// backend that stalls to the end still leaves the fallback time to answer.
        public var fallbackReserve: Duration = .seconds(8)
        public var options = ChatOptions()

        public init() {}
    }

    /// A tool the model called, with what came of it (for the task's log).
    public struct ToolUse: Sendable, Equatable {
        public var name: String
        public var arguments: String
        public var result: String
        public var failed: Bool
        public var seconds: Double
    }

    public struct Outcome: Sendable {
        /// What the device says.
        public var text: String
        public var tools: [ToolUse] = []
        /// The backend that answered ("" when none did).
        public var backend = ""
        /// Every failure on the way (retried or not).
        public var failures: [BackendFailure] = []
        /// No backend answered: `text` is the honest short answer.
        public var unanswered = false
        public var cancelled = false
        /// The reply stops short: the token budget ran out, or the backend failed after part of it
        /// was said (a text cut mid-sentence loses its unfinished end).
        public var truncated = false
        /// Sentences of `text` given to `onSentence` as they were written (the rest of it came after).
        public var sentencesAhead = 0
    }

    /// The reply as it is written, cut into sentences: each whole one goes to `onSentence` (the
    /// device may say it at once). Once one is out, a failure ends the answer there instead of
    /// starting it again, retried or from the fallback; text not yet a whole sentence is dropped
    /// when a reply is asked again (nothing of it was said).
    private final class Streamed {
        var stream = SentenceStream()
        var saidAny: Bool { !stream.sentences.isEmpty }
    }

    public static let unavailableAnswer = "Sorry, I can't look into that right now; my thinking service isn't answering. Please ask me again in a moment."

    public let backend: ChatBackend
    public let fallback: ChatBackend?
    public let tools: ServerTools
    public let settings: Settings

    public init(backend: ChatBackend, fallback: ChatBackend? = nil, tools: ServerTools = ServerTools(), settings: Settings = Settings()) {
        self.backend = backend
        self.fallback = fallback
        self.tools = tools
        self.settings = settings
    }

    /// What a segment of live translation is asked with, instead of the system prompt.
    public static func translation(into language: String) -> String {
        "Translate what the user says into \(language). Reply with the \(language) translation only: no English, no notes, no quotes."
    }

    /// Answers `question`, giving each sentence of the reply to `onSentence` as soon as it is
    /// written; `device`: the task's device's tools, beside the server's. `instructions`, for a
    /// fixed job such as a translation, replace the system prompt, and the job gets no tools,
    /// facts or history.
    public func answer(_ question: String, history: [Message] = [], device: DeviceTools? = nil, instructions: String? = nil,
                       cancellation: Cancellation, onSentence: (String) -> Void = { _ in }) -> Outcome {
        let tools = self.tools.with(device: device)
        let deadline = ContinuousClock.now + settings.budget
        let reserve = fallback == nil ? .zero : min(settings.fallbackReserve, settings.budget / 2)
        var outcome = Outcome(text: "")
        let streamed = Streamed()
        let tracked: (String) -> Void = { piece in
            for sentence in streamed.stream.add(piece) { onSentence(sentence) }
        }
        for (k, candidate) in ([backend] + (fallback.map { [$0] } ?? [])).enumerated() {
            let deadline = k == 0 ? deadline - reserve : deadline
            do {
                let text = try converse(question, history: history, instructions: instructions, with: candidate, tools: tools, deadline: deadline,
                                        cancellation: cancellation, streamed: streamed, outcome: &outcome, onText: tracked)
                // What was said ahead, and the rest (a reply not streamed is all rest).
                let said = streamed.stream.text(keepingTail: !outcome.truncated)
                outcome.text = said.isEmpty ? text : said
                outcome.sentencesAhead = streamed.stream.sentences.count
                outcome.backend = candidate.name
                return outcome
            } catch .cancelled {
                outcome.cancelled = true
                return outcome
            } catch {
                outcome.failures.append(error)
                if streamed.saidAny {
                    outcome.text = streamed.stream.text(keepingTail: false)
                    outcome.sentencesAhead = streamed.stream.sentences.count
                    outcome.backend = candidate.name
                    outcome.truncated = true
                    return outcome
                }
            }
        }
        outcome.text = Self.unavailableAnswer
        outcome.unanswered = true
        return outcome
    }

    private func converse(_ question: String, history: [Message], instructions: String?, with model: ChatBackend, tools: ServerTools,
                          deadline: ContinuousClock.Instant, cancellation: Cancellation, streamed: Streamed, outcome: inout Outcome,
                          onText: (String) -> Void) throws(BackendFailure) -> String {
        var system = instructions ?? settings.systemPrompt
        var context = instructions == nil ? history : []
        if instructions == nil, !model.callsTools {
            // The conversation reaches a model that calls no tools only through what is looked up
            // for it: the visitor's previous question helps find the facts of a follow-up that
            // names none itself. Given the exchanges as messages, the built-in 135M model repeated
            // its earlier answer ("And on Sundays?" got the Saturday hours again); given the
            // earlier questions in its instructions, it read them out.
            let previous = history.last { $0.role == .user }?.content
            let (facts, deviceCalls) = tools.lookUp(for: question, context: previous)
            outcome.tools += deviceCalls
            if !facts.isEmpty { system += "\nFacts: " + facts.joined(separator: " ") }
            context = []
        }
        var messages = [Message(.system, system)] + context + [Message(.user, question)]
        let definitions = model.callsTools && instructions == nil ? tools.definitions : []
        var done = Set<String>()  // calls already run, by name and arguments
        var round = 0
        while true {
            // The last round offers no tools: the model answers with what it has, the results
            // given as facts (a small model shown its calls calls again, in words: "functions.current_time:").
            let offered = round < settings.maxToolRounds ? definitions : []
            let asked = offered.isEmpty && !definitions.isEmpty ? Self.withResultsAsFacts(messages) : messages
            let reply = try call(model, asked, offered, deadline: deadline, cancellation: cancellation, streamed: streamed,
                                 outcome: &outcome, onText: onText)
            let text = reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !reply.toolCalls.isEmpty, !offered.isEmpty else {
                guard !text.isEmpty else { throw .model(backend: model.name, reason: "an empty reply") }
                // A small model behind llama-cpp-python's function-calling format writes a call as
                // text ("functions.set_timer:") when it may not make one: garbage to say aloud.
                if Self.isCallWrittenAsText(text) {
                    throw .model(backend: model.name, reason: "a tool call written as text instead of an answer: \(text.prefix(80))")
                }
                outcome.truncated = reply.finishReason == "length"
                return outcome.truncated ? Self.wholeSentences(text) : text
            }
            // A model that asks again for what it was given answers now instead of going round.
            let fresh = reply.toolCalls.filter { !done.contains($0.name + "\u{0}" + $0.arguments) }
            round = fresh.isEmpty ? settings.maxToolRounds : round + 1
            messages.append(Message(.assistant, reply.text, toolCalls: reply.toolCalls))
            for toolCall in reply.toolCalls {
                let started = ContinuousClock.now
                let result = tools.run(toolCall)
                if done.insert(toolCall.name + "\u{0}" + toolCall.arguments).inserted {
                    outcome.tools.append(ToolUse(name: toolCall.name, arguments: toolCall.arguments, result: result.text,
                                                 failed: { if case .error = result { true } else { false } }(), seconds: (ContinuousClock.now - started).seconds))
                }
                messages.append(Message(.tool, result.text, toolCallID: toolCall.id))
            }
        }
    }

    /// The conversation without its tool calls, their results added to the instructions as facts.
    static func withResultsAsFacts(_ messages: [Message]) -> [Message] {
        let results = messages.filter { $0.role == .tool }.map(\.content)
        var kept = messages.filter { $0.role != .tool && $0.toolCalls.isEmpty }
        if !results.isEmpty, let i = kept.firstIndex(where: { $0.role == .system }) {
            kept[i].content += "\nFacts: " + results.joined(separator: " ")
        }
        return kept
    }

    /// "functions.NAME:" or "functions.NAME(" at the start of a reply.
    static func isCallWrittenAsText(_ text: String) -> Bool {
        guard text.hasPrefix("functions.") else { return false }
        let name = text.dropFirst("functions.".count).prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        let next = text.dropFirst("functions.".count + name.count).first
        return !name.isEmpty && (next == ":" || next == "(")
    }

    /// A reply the token budget cut off, without its unfinished last sentence (the device should
    /// not say half of one); kept whole when it has no sentence end at all.
    static func wholeSentences(_ text: String) -> String {
        guard let end = text.lastIndex(where: { ".!?".contains($0) }) else { return text }
        return String(text[...end])
    }

    /// One reply, tried again after transient failures while the budget lasts.
    private func call(_ model: ChatBackend, _ messages: [Message], _ offered: [ToolDefinition], deadline: ContinuousClock.Instant,
                      cancellation: Cancellation, streamed: Streamed, outcome: inout Outcome,
                      onText: (String) -> Void) throws(BackendFailure) -> ChatReply {
        var pause = settings.backoff
        var attempt = 0
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw .timedOut(backend: model.name, seconds: settings.budget.seconds) }
            var options = settings.options
            options.timeout = min(options.timeout, left)
            streamed.stream.dropPending()
            do {
                return try model.reply(to: messages, tools: offered, options: options, cancellation: cancellation, onText: onText)
            } catch {
                guard error.isTransient, !streamed.saidAny, attempt < settings.retries, deadline - ContinuousClock.now > pause else { throw error }
                outcome.failures.append(error)
                attempt += 1
                Thread.sleep(forTimeInterval: pause.seconds)
                if cancellation.isCancelled { throw .cancelled }
                pause = pause * 2
            }
        }
    }
}
