import Foundation

/// One message of a conversation with a chat model, in the shape OpenAI-compatible servers take:
/// the assistant's may carry tool calls, a tool's answers one of them by id.
public struct Message: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case system, user, assistant, tool }
    public var role: Role
    public var content: String
    public var toolCalls: [ToolCall] = []
    /// For a tool's message: the call it answers.
    public var toolCallID: String?

    public init(_ role: Role, _ content: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }
}

/// A model's request to run a tool: `arguments` is the JSON text the model wrote (which may not parse).
public struct ToolCall: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// A tool as the model is told of it: a name, what it does, and its parameters as a JSON schema
/// (an object schema's JSON text).
public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String
    public var parameters: String

    public init(name: String, description: String, parameters: String = #"{"type":"object","properties":{}}"#) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// What a chat model answered: its text, and the tools it asks for (none when it is done).
public struct ChatReply: Sendable, Equatable {
    public var text: String
    public var toolCalls: [ToolCall]
    /// Why it stopped, as the backend says it ("stop", "length", "tool_calls", ...).
    public var finishReason: String

    public init(text: String, toolCalls: [ToolCall] = [], finishReason: String = "stop") {
        self.text = text
        self.toolCalls = toolCalls
        self.finishReason = finishReason
    }
}
