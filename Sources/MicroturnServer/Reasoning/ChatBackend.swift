import Foundation
import MicroturnInference

/// A chat model the server reasons with: the built-in engine, or any OpenAI-compatible server
/// (vLLM, SGLang, llama.cpp's server, Ollama, llama-cpp-python). Calls block their thread (one of
/// the server's worker threads) until the reply is complete, giving its text to `onText` as it is
/// written; `cancellation` ends a call early, and the options' timeout ends it too.
public protocol ChatBackend: Sendable {
    /// For logs and errors: "builtin SmolLM2-...gguf", "http://host:port/v1".
    var name: String { get }
    /// Whether the model is given tools to call (the built-in model is too small to call them well;
    /// the reasoner looks things up for it instead).
    var callsTools: Bool { get }
    func reply(to messages: [Message], tools: [ToolDefinition], options: ChatOptions, cancellation: Cancellation,
               onText: (String) -> Void) throws(BackendFailure) -> ChatReply
}

/// How one reply is asked for: its length, its time, its sampling, and whether a tool must be called.
public struct ChatOptions: Sendable, Equatable {
    public enum ToolChoice: Sendable, Equatable {
        /// The model decides.
        case auto
        /// Text only (the tools stay in view).
        case none
        /// This tool must be called.
        case function(String)
    }

    public var maxTokens = 60
    /// The whole reply, from the request to its last token.
    public var timeout: Duration = .seconds(30)
    /// nil: the backend's default.
    public var temperature: Double?
    public var toolChoice = ToolChoice.auto

    public init(maxTokens: Int = 60, timeout: Duration = .seconds(30), temperature: Double? = nil, toolChoice: ToolChoice = .auto) {
        self.maxTokens = maxTokens
        self.timeout = timeout
        self.temperature = temperature
        self.toolChoice = toolChoice
    }
}

/// Why a backend gave no reply. Transient failures are worth another try after a pause.
public enum BackendFailure: Error, Equatable, CustomStringConvertible {
    case unreachable(backend: String, reason: String)
    case status(backend: String, code: Int, body: String)
    case malformed(backend: String, reason: String)
    case timedOut(backend: String, seconds: Double)
    case model(backend: String, reason: String)
    case cancelled

    public var isTransient: Bool {
        switch self {
        case .unreachable, .timedOut: true
        case let .status(_, code, _): code == 429 || code >= 500
        case .malformed, .model, .cancelled: false
        }
    }

    /// A short name for metrics.
    public var kind: String {
        switch self {
        case .unreachable: "unreachable"
        case .status: "status"
        case .malformed: "malformed"
        case .timedOut: "timeout"
        case .model: "model"
        case .cancelled: "cancelled"
        }
    }

    public var description: String {
        switch self {
        case let .unreachable(backend, reason): "\(backend) cannot be reached (\(reason)); is it running, and is the URL right?"
        case let .status(backend, code, body): "\(backend) answered HTTP \(code)\(body.isEmpty ? "" : ": \(body)")"
        case let .malformed(backend, reason): "\(backend) answered something that is not an OpenAI-compatible reply: \(reason)"
        case let .timedOut(backend, seconds): "\(backend) did not finish its reply within \(seconds) s"
        case let .model(backend, reason): "\(backend): \(reason)"
        case .cancelled: "cancelled"
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
