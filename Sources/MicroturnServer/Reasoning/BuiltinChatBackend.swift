import Foundation
import MicroturnInference

/// The chat model that needs no service: our own engine on a GGUF file (SmolLM2-135M-Instruct by
/// default). One reply at a time (the model keeps one key/value cache, reused when a conversation
/// goes on); a task waiting for it waits within its reply's timeout. It is given no tools: the
/// reasoner looks up what a question needs first.
public final class BuiltinChatBackend: ChatBackend, @unchecked Sendable {
    public let path: String
    private let generator: Generator
    private let lock = NSLock()  // guards `generator`
    public var name: String { "builtin \(URL(fileURLWithPath: path).lastPathComponent)" }
    public var callsTools: Bool { false }

    /// Loads the model now, so a missing or broken file is an error at start, not at the first task.
    public init(path: String, threads: Int = 1) throws {
        self.path = path
        generator = try Generator(path: path, threads: threads, kvCache: .f16)
        guard generator.template != nil else { throw Generator.Failure.noTemplate(path: path) }
    }

    public func reply(to messages: [Message], tools: [ToolDefinition], options: ChatOptions, cancellation: Cancellation,
                      onText: (String) -> Void) throws(BackendFailure) -> ChatReply {
        // Waiting for the model (another task has it) counts against the reply's time.
        let started = ContinuousClock.now
        guard lock.lock(before: Date().addingTimeInterval(options.timeout.seconds)) else {
            throw .timedOut(backend: name, seconds: options.timeout.seconds)
        }
        defer { lock.unlock() }
        if cancellation.isCancelled { throw .cancelled }
        // Ends the generation when the caller cancels or the time is up (checked at every token).
        let stop = Cancellation()
        var settings = Generator.Options()
        settings.budget = options.maxTokens
        // Against a small model's loops ("the 1st floor of the 2nd floor of ..."), over its own
        // words only: the facts in the prompt are there to be repeated (with the prompt counted,
        // "Where are the toilets?" given "The toilets are on the first floor" got an address).
        settings.sampler.repetitionPenalty = 1.1
        settings.penalizePrompt = false
        if let t = options.temperature, t > 0 {
            settings.sampler.temperature = Float(t)
            settings.sampler.seed = UInt64.random(in: 0...UInt64.max)
        }
        do {
            let prompt = try generator.chatPrompt(messages.map(Self.chatMessage), budget: options.maxTokens)
            let reply = try generator.generate(prompt: prompt, options: settings, cancel: stop) { piece in
                onText(piece)
                if cancellation.isCancelled || ContinuousClock.now - started > options.timeout { stop.cancel() }
            }
            if cancellation.isCancelled { throw BackendFailure.cancelled }
            if reply.stop == .cancelled { throw BackendFailure.timedOut(backend: name, seconds: options.timeout.seconds) }
            return ChatReply(text: reply.text, finishReason: reply.stop == .endOfTurn ? "stop" : "length")
        } catch let failure as BackendFailure {
            throw failure
        } catch {
            throw .model(backend: name, reason: "\(error)")
        }
    }

    /// Tool results (which this backend is not given tools for, but a conversation may hold) go in
    /// as the user's words, labelled.
    static func chatMessage(_ m: Message) -> ChatMessage {
        switch m.role {
        case .system: ChatMessage(.system, m.content)
        case .user: ChatMessage(.user, m.content)
        case .assistant: ChatMessage(.assistant, m.content)
        case .tool: ChatMessage(.user, "(tool result) \(m.content)")
        }
    }
}
