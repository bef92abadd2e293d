import ArgumentParser
import Foundation
import MicroturnInference

struct ModelChat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with an instruct model, its reply streamed as it is written.",
        discussion: """
        The conversation is written the way the model's chat template says (recognised: ChatML, Llama 3, \
        Gemma, Phi-3; others are refused with the reason). A reply ends at the template's end-of-turn token, \
        after -n tokens, or when the context is full; older turns are left out when the conversation outgrows \
        --ctx.

        With --prompt: one question, one reply, then exit. Without it, in a terminal: type a message and \
        press Enter; /reset starts over, /quit (or Ctrl-D) leaves, Ctrl-C stops a reply being written. \
        With input from a pipe, each line is one message.

        Examples:
          microturn model chat --model models/SmolLM2-135M-Instruct.Q4_1.gguf --prompt "What is a squat?"
          microturn model chat --model models/SmolLM2-135M-Instruct.Q4_1.gguf --system "You are a fitness coach."
        """)

    @Option(help: "The .gguf model file (an instruct model with a chat template).")
    var model: String

    @OptionGroup var threads: EngineThreads

    @Option(help: "The system message (default: the template's own, if it has one).")
    var system: String?

    @Option(help: "One message: print the reply and exit.")
    var prompt: String?

    @Option(name: .short, help: "At most this many tokens per reply.")
    var n = 256

    @Option(help: "Context window in tokens for the conversation and the reply (default: the model's context length).")
    var ctx: Int?

    @Flag(help: "After each reply, print its token count, time to first token and speed on stderr.")
    var stats = false

    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        try FlagChecks.integer(n, "-n", 1...1_000_000)
        if let ctx { try FlagChecks.integer(ctx, "--ctx", 16...1_000_000) }
        if let prompt, prompt.isEmpty { throw ValidationError("--prompt is empty") }
    }

    func run() throws {
        try withExitCodes {
            let generator = try Generator(path: model, threads: threads.resolve(), kvCache: threads.precision())
            guard generator.template != nil else { throw Generator.Failure.noTemplate(path: model) }
            var options = Generator.Options()
            options.budget = n
            options.sampler = sampling.settings
            options.contextWindow = ctx
            var conversation: [ChatMessage] = system.map { [ChatMessage(.system, $0)] } ?? []
            if let prompt {
                conversation.append(ChatMessage(.user, prompt))
                _ = try reply(generator, &conversation, options, cancel: nil)
                return
            }
            let interactive = isatty(0) == 1
            let interrupt = Interrupt()
            while true {
                if interactive { FileHandle.standardOutput.write(Data("> ".utf8)) }
                guard let line = readLine() else { break }
                let text = line.trimmingCharacters(in: .whitespaces)
                if text.isEmpty { continue }
                if text == "/quit" { break }
                if text == "/reset" {
                    conversation = system.map { [ChatMessage(.system, $0)] } ?? []
                    continue
                }
                conversation.append(ChatMessage(.user, text))
                let cancel = Cancellation()
                interrupt.during(cancel) {
                    // A message that does not fit is said, and the conversation goes on without it.
                    do { _ = try reply(generator, &conversation, options, cancel: cancel) } catch {
                        conversation.removeLast()
                        Failure.report("\(error)")
                    }
                }
            }
        }
    }

    /// Streams the reply to stdout and adds it to the conversation.
    func reply(_ generator: Generator, _ conversation: inout [ChatMessage], _ options: Generator.Options, cancel: Cancellation?) throws -> Generator.Reply {
        let ids = try generator.chatPrompt(conversation, budget: options.budget, window: options.contextWindow)
        let r = try generator.generate(prompt: ids, options: options, cancel: cancel) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        conversation.append(ChatMessage(.assistant, r.text))
        if stats || r.stop == .cancelled || r.stop == .contextFull {
            let speed = r.seconds > r.secondsToFirstToken ? Double(max(0, r.tokens.count - 1)) / (r.seconds - r.secondsToFirstToken) : 0
            FileHandle.standardError.write(Data(String(format: "[%d tokens, stopped: %@; prompt %d tokens (%d read), first token after %.2f s, %.1f tokens/s]\n",
                                                       r.tokens.count, r.stop.rawValue, r.promptTokens, r.promptTokensRead,
                                                       r.secondsToFirstToken, speed).utf8))
        }
        return r
    }
}

/// Ctrl-C while a reply is written stops that reply; at the prompt it leaves, as a shell does.
final class Interrupt: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Cancellation?
    private let source: DispatchSourceSignal

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            lock.lock()
            let c = current
            lock.unlock()
            if let c { c.cancel() } else { print(""); exit(130) }
        }
        source.resume()
    }

    func during(_ cancel: Cancellation, _ body: () -> Void) {
        lock.lock(); current = cancel; lock.unlock()
        body()
        lock.lock(); current = nil; lock.unlock()
    }
}
