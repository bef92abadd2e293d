import Foundation
import MicroturnCore
import MicroturnLink

/// The tools the background server may ask of the device (TOOL_CALL): what the camera counted,
/// timers, the voice's volume, the device's clock. Each answers with a JSON object whose
/// "summary" says it in words; a call it cannot do gets an error the model can read.
extension Session {
    /// What the device tells the server it can do (the count only with a camera or a clip).
    static func toolCapabilities(counting: Bool) -> [String] {
        ["tool:timer", "tool:volume", "tool:time"] + (counting ? ["tool:reps"] : [])
    }

    func runTool(_ call: Microturn_Link_V1_ToolCall) -> Microturn_Link_V1_ToolResult {
        var result = Microturn_Link_V1_ToolResult()
        result.callID = call.callID
        let raw = call.argumentsJson.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let arguments = raw.isEmpty ? [:] : (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] else {
            result.error = "the arguments of \(call.name) are not a JSON object"
            return result
        }
        let outcome: Result<[String: Any], ToolError> = switch call.name {
        case "device_reps": reps()
        case "set_timer": setTimer(arguments)
        case "cancel_timer": cancelTimer(arguments)
        case "change_volume": changeVolume(arguments)
        case "device_time": .success(["summary": "On the device it is \(Self.clockText(Date())).", "unix_time": Int(Date().timeIntervalSince1970)])
        default: .failure(ToolError("this device has no tool named \"\(call.name)\""))
        }
        switch outcome {
        case let .success(object):
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            result.resultJson = String(decoding: data, as: UTF8.self)
        case let .failure(error):
            result.error = error.reason
        }
        emit(Event(time: seconds(currentSample), kind: .tool, text: call.name,
                   detail: result.error.isEmpty ? result.resultJson : "error: \(result.error)"))
        return result
    }

    struct ToolError: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private func reps() -> Result<[String: Any], ToolError> {
        guard let tally = counts?.source.tally else { return .failure(ToolError("this device counts no repetitions (no camera)")) }
        let n = tally.total, sets = tally.setsFinished
        let summary = "\(n) \(n == 1 ? "repetition" : "repetitions") counted, \(sets) \(sets == 1 ? "set" : "sets") finished"
            + (tally.inSet ? ", a set going on now." : ".")
        return .success(["repetitions": n, "sets_finished": sets, "in_set": tally.inSet, "summary": summary])
    }

    private func setTimer(_ arguments: [String: Any]) -> Result<[String: Any], ToolError> {
        guard let seconds = (arguments["seconds"] as? NSNumber)?.doubleValue else { return .failure(ToolError("set_timer needs \"seconds\", a number")) }
        let label = (arguments["label"] as? String).map { String($0.prefix(40)) } ?? ""
        do { try timers.set(seconds: seconds, label: label, at: currentSample) } catch { return .failure(ToolError("\(error)")) }
        let what = label.isEmpty ? "A timer" : "A \(label) timer"
        return .success(["seconds": seconds, "label": label, "summary": "\(what) for \(Self.durationText(seconds)) is set."])
    }

    private func cancelTimer(_ arguments: [String: Any]) -> Result<[String: Any], ToolError> {
        let n = timers.cancel(label: (arguments["label"] as? String).flatMap { $0.isEmpty ? nil : $0 })
        return .success(["cancelled": n, "summary": n == 0 ? "There was no timer to cancel." : "\(n) \(n == 1 ? "timer" : "timers") cancelled."])
    }

    private func changeVolume(_ arguments: [String: Any]) -> Result<[String: Any], ToolError> {
        guard let db = (arguments["change_db"] as? NSNumber)?.doubleValue, db.isFinite else {
            return .failure(ToolError("change_volume needs \"change_db\", a number"))
        }
        speechOut.changeGain(by: max(-20, min(20, db)))
        return .success(["gain_db": speechOut.gainDb, "summary": "The voice is now at \(Int(speechOut.gainDb.rounded())) dB."])
    }

    /// A timer that is up: said when the user is done, like an answer.
    func sayTimersDue(at now: Int) {
        for timer in timers.due(at: now) {
            let text = timer.label.isEmpty ? "Your timer is done." : "Your \(timer.label) timer is done."
            scheduler.queue.add(Utterance(text: text, kind: .answer, condition: .userDone, deadline: .max))
        }
    }

    static func durationText(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s % 3600 == 0 { return "\(s / 3600) \(s == 3600 ? "hour" : "hours")" }
        if s % 60 == 0 { return "\(s / 60) \(s == 60 ? "minute" : "minutes")" }
        return "\(s) seconds"
    }

    static func clockText(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "HH:mm 'on' EEEE, d MMMM yyyy"
        return f.string(from: date)
    }
}
