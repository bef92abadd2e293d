import Foundation

/// The tools a task's device runs for the model, asked over the link (TOOL_CALL, answered by
/// TOOL_RESULT): its repetition count, a timer, its volume, its clock. Only those the device said
/// it has (HELLO capabilities "tool:reps", "tool:timer", "tool:volume", "tool:time") are offered;
/// a device that does not answer in time gives the model an error, not a hang.
public struct DeviceTools: Sendable {
    /// Asks the device: tool name and JSON arguments in, its outcome out (within `timeout`).
    public typealias Call = @Sendable (_ name: String, _ arguments: String, _ timeout: Duration) -> ServerTools.Outcome

    public let capabilities: Set<String>
    let call: Call
    /// The longest a device may take to answer one call.
    public static let timeout: Duration = .seconds(3)

    public init(capabilities: some Sequence<String>, call: @escaping Call) {
        self.capabilities = Set(capabilities)
        self.call = call
    }

    static let all: [(capability: String, tool: ToolDefinition)] = [
        ("tool:reps", ToolDefinition(
            name: "device_reps",
            description: "The user's exercise as the device's camera counted it: repetitions so far, sets finished, whether a set is going on.")),
        ("tool:timer", ToolDefinition(
            name: "set_timer",
            description: "Start a timer on the device; it speaks when the time is up.",
            parameters: #"{"type":"object","properties":{"seconds":{"type":"number","description":"how long, in seconds"},"label":{"type":"string","description":"what the timer is for"}},"required":["seconds"]}"#)),
        ("tool:timer", ToolDefinition(
            name: "cancel_timer",
            description: "Cancel the device's timers (or the one with this label).",
            parameters: #"{"type":"object","properties":{"label":{"type":"string"}}}"#)),
        ("tool:volume", ToolDefinition(
            name: "change_volume",
            description: "Make the device's voice louder (positive) or quieter (negative), in decibels.",
            parameters: #"{"type":"object","properties":{"change_db":{"type":"number"}},"required":["change_db"]}"#)),
        ("tool:time", ToolDefinition(name: "device_time", description: "The time on the device's own clock.")),
    ]

    /// The tools this device has.
    public var definitions: [ToolDefinition] { Self.all.filter { capabilities.contains($0.capability) }.map(\.tool) }

    public func has(_ name: String) -> Bool { definitions.contains { $0.name == name } }

    /// Runs `name` on the device, within `timeout` (at most `DeviceTools.timeout`).
    public func run(_ name: String, arguments: String, timeout: Duration = DeviceTools.timeout) -> ServerTools.Outcome {
        call(name, arguments, min(timeout, Self.timeout))
    }

    /// For a model that calls no tools: what the question plainly asks of the device, asked first
    /// (the exercise counted for a question about reps or sets; a timer started or cancelled when
    /// the question says so and how long): each call, with the device's own words for its result.
    func lookUp(for question: String) -> [Reasoner.ToolUse] {
        let lower = question.lowercased()
        let words = Set(lower.split { !$0.isLetter }.map(String.init))
        var asked: [(String, String)] = []
        if has("device_reps") && !words.isDisjoint(with: ["rep", "reps", "repetitions", "set", "sets", "squats", "curls", "exercise", "workout"]) {
            asked.append(("device_reps", "{}"))
        }
        if has("set_timer") && words.contains("timer") {
            if !words.isDisjoint(with: ["cancel", "stop", "delete"]) {
                asked.append(("cancel_timer", "{}"))
            } else if let seconds = Self.duration(in: lower) {
                asked.append(("set_timer", #"{"seconds":\#(seconds)}"#))
            }
        }
        return asked.map { name, arguments in
            let started = ContinuousClock.now
            let outcome = run(name, arguments: arguments)
            let seconds = (ContinuousClock.now - started).seconds
            return switch outcome {
            case let .result(json): Reasoner.ToolUse(name: name, arguments: arguments, result: Self.summary(json), failed: false, seconds: seconds)
            case let .error(reason):
                Reasoner.ToolUse(name: name, arguments: arguments, result: "The device could not do \(name): \(reason).", failed: true, seconds: seconds)
            }
        }
    }

    /// "5 minutes", "ninety seconds", "an hour and a half" is beyond it: digits or a few number
    /// words, then a unit. Nil when the question gives no duration.
    static func duration(in text: String) -> Int? {
        let numbers = ["a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                       "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "sixty": 60, "ninety": 90]
        let units = ["second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600]
        let words = text.split { $0.isWhitespace || ",.?!".contains($0) }.map(String.init)
        for (i, word) in words.enumerated().dropFirst() {
            guard let unit = units[word], let n = Int(words[i - 1]) ?? numbers[words[i - 1]] else { continue }
            let (total, overflow) = n.multipliedReportingOverflow(by: unit)
            return overflow || total <= 0 ? nil : total
        }
        return nil
    }

    /// The device's result for people: its "summary" field when it has one, else the JSON.
    public static func summary(_ json: String) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
              let summary = object["summary"] as? String else { return json }
        return summary
    }
}
