import Foundation
import Logging
import Synchronization

/// Each device's last exchanges (question and answer), so that a follow-up ("and on Sundays?") has
/// its context. Bounded by characters (about four a token), the oldest exchange going first; kept
/// in the task store after every exchange, so it survives a restart of the server.
public final class ConversationMemory: Sendable {
    public let characterBudget: Int
    private let store: TaskStore?
    private let log: Logger
    private let cache = Mutex<[String: [Message]]>([:])

    public init(store: TaskStore?, characterBudget: Int = 2400, log: Logger = Logger(label: "microturn-server")) {
        self.store = store
        self.characterBudget = characterBudget
        self.log = log
    }

    /// The device's remembered exchanges, oldest first.
    public func history(device: String) -> [Message] {
        if let known = cache.withLock({ $0[device] }) { return known }
        var messages: [Message] = []
        do {
            if let data = try store?.memory(device: device) { messages = try JSONDecoder().decode([Message].self, from: data) }
        } catch {
            // A memory that cannot be read costs the context, not the answer.
            log.error("cannot read the conversation memory; starting afresh", metadata: ["device": "\(device)", "error": "\(error)"])
        }
        cache.withLock { $0[device] = messages }
        return messages
    }

    /// The user talked over an answer after hearing `heard` of it: the remembered answer becomes
    /// what was heard, marked so, so that the model goes on from what the user knows.
    public func interrupted(device: String, heard: String) {
        var messages = history(device: device)
        guard let i = messages.lastIndex(where: { $0.role == .assistant && $0.content.hasPrefix(heard) && !$0.content.hasSuffix(Self.cutMark) })
        else { return }
        messages[i].content = heard.isEmpty ? "(the user talked over this answer before hearing any of it)" : heard + Self.cutMark
        save(device: device, messages)
    }

    static let cutMark = " (the user talked over the rest)"

    /// Adds an exchange and keeps the memory within its budget.
    public func remember(device: String, question: String, answer: String) {
        var messages = history(device: device) + [Message(.user, question), Message(.assistant, answer)]
        while messages.count > 2 && messages.reduce(0, { $0 + $1.content.count }) > characterBudget { messages.removeFirst(2) }
        save(device: device, messages)
    }

    private func save(device: String, _ messages: [Message]) {
        cache.withLock { $0[device] = messages }
        do { try store?.saveMemory(device: device, try JSONEncoder().encode(messages)) } catch {
            log.error("cannot save the conversation memory", metadata: ["device": "\(device)", "error": "\(error)"])
        }
    }
}
