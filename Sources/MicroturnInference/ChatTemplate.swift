/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// How a model wants a conversation written, recognised from its `tokenizer.chat_template` (a
/// Jinja program, which this engine does not run) by the markers each family's template holds, as
/// llama.cpp recognises them. Families whose templates disagree among themselves on where the
/// system prompt goes (Llama 2 and Mistral's [INST] variants) are refused rather than guessed.
public struct ChatTemplate: Sendable, Equatable {
    public enum Family: String, Sendable, CaseIterable {
        /// <|im_start|>role\ncontent<|im_end|>\n (SmolLM, Qwen, many others).
        case chatML = "chatml"
        /// <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|> (Llama 3).
        case llama3
        /// <start_of_turn>user\ncontent<end_of_turn>\n, the system prompt folded into the first
        /// user turn (Gemma).
        case gemma
        /// <|role|>\ncontent<|end|>\n (Phi-3).
        case phi3
    }

    public let family: Family
    /// What the template says when the conversation has no system message (SmolLM2's names
    /// itself), or nil.
    public let defaultSystem: String?

    /// The text that ends a turn: generation stops at its token.
    public var endOfTurn: String {
        switch family {
        case .chatML: "<|im_end|>"
        case .llama3: "<|eot_id|>"
        case .gemma: "<end_of_turn>"
        case .phi3: "<|end|>"
        }
    }

    public init(family: Family, defaultSystem: String? = nil) {
        self.family = family
        self.defaultSystem = defaultSystem
    }

    /// Recognises `template`; the error says what was found and why it is refused.
    public init(jinja template: String) throws(ChatTemplateError) {
        func has(_ s: String) -> Bool { template.contains(s) }
        if has("<|im_start|>") {
            // The newline as the template's source has it: the character, or the escape.
            let system = Self.literal(in: template, after: "<|im_start|>system\n", before: "<|im_end|>")
                ?? Self.literal(in: template, after: "<|im_start|>system\\n", before: "<|im_end|>")
            self.init(family: .chatML, defaultSystem: system)
        } else if has("<|start_header_id|>") && has("<|end_header_id|>") {
            self.init(family: .llama3)
        } else if has("<start_of_turn>") {
            self.init(family: .gemma)
        } else if has("<|assistant|>") && has("<|end|>") {
            self.init(family: .phi3)
        } else if has("[INST]") {
            throw .refused(family: "Llama 2 / Mistral ([INST])",
                           reason: "its variants place the system prompt and BOS differently and the template does not say which")
        } else {
            throw .unrecognised(excerpt: String(template.prefix(80)))
        }
    }

    /// The template of a model file, or nil when it has none.
    public init?(file: GGUFFile) throws(ChatTemplateError) {
        guard let t = file.metadata["tokenizer.chat_template"]?.string else { return nil }
        try self.init(jinja: t)
    }

    /// The first text in the template between two markers that holds no template code (a string
    /// literal, not `'...' + messages[0]['content']`).
    static func literal(in template: String, after start: String, before end: String) -> String? {
        var from = template.startIndex
        while let a = template.range(of: start, range: from..<template.endIndex) {
            from = a.upperBound
            guard let b = template.range(of: end, range: a.upperBound..<template.endIndex) else { return nil }
            let text = template[a.upperBound..<b.lowerBound]
            if !text.isEmpty, !text.contains("{"), !text.contains("'"), !text.contains("\""), !text.contains("+") { return String(text) }
        }
        return nil
    }

    /// The conversation as the model reads it, ending with the assistant's turn opened when
    /// `openReply` (generation continues from there).
    public func render(_ messages: [ChatMessage], openReply: Bool = true) -> String {
        var messages = messages
        if messages.first?.role != .system, let defaultSystem { messages.insert(ChatMessage(.system, defaultSystem), at: 0) }
        var out = ""
        switch family {
        case .chatML:
            for m in messages { out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n" }
            if openReply { out += "<|im_start|>assistant\n" }
        case .llama3:
            for m in messages { out += "<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n\(m.content)<|eot_id|>" }
            if openReply { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .gemma:
            var system = ""
            for m in messages {
                switch m.role {
                case .system: system += m.content + "\n\n"
                case .user:
                    out += "<start_of_turn>user\n\(system)\(m.content)<end_of_turn>\n"
                    system = ""
                case .assistant: out += "<start_of_turn>model\n\(m.content)<end_of_turn>\n"
                }
            }
            if openReply { out += "<start_of_turn>model\n" }
        case .phi3:
            for m in messages { out += "<|\(m.role.rawValue)|>\n\(m.content)<|end|>\n" }
            if openReply { out += "<|assistant|>\n" }
        }
        return out
    }
}

public enum ChatTemplateError: Error, Equatable, CustomStringConvertible {
    case refused(family: String, reason: String)
    case unrecognised(excerpt: String)

    public var description: String {
        switch self {
        case let .refused(family, reason):
            "the model's chat template is \(family), which is not supported: \(reason). Supported: \(ChatTemplate.Family.allCases.map(\.rawValue).joined(separator: ", ")); use `model generate` with a prompt written out instead"
        case let .unrecognised(excerpt):
            "the model's chat template is not one this engine recognises (\(excerpt.debugDescription)...). Supported: \(ChatTemplate.Family.allCases.map(\.rawValue).joined(separator: ", ")); use `model generate` with a prompt written out instead"
        }
    }
}
