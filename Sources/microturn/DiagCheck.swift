import Foundation

/// One finding of `microturn diag`: what was checked, how it went, the figures measured, and what
/// a technician should do about it.
struct DiagCheck {
    enum Status: String {
        case pass, warn, fail, skipped

        /// The exit code a run with this as its worst finding ends with.
        var exitCode: Int32 { self == .fail ? 2 : self == .warn ? 1 : 0 }
        var rank: Int { self == .fail ? 3 : self == .warn ? 2 : self == .pass ? 1 : 0 }
    }

    var name: String
    var status: Status
    /// What was found, or why it was skipped.
    var summary: String
    /// The figures measured, in order, with their units in the key ("rms_dbfs", "fps").
    var numbers: [(key: String, value: Double)] = []
    /// What to do (empty when there is nothing to do).
    var hint = ""

    static func pass(_ name: String, _ summary: String, _ numbers: [(key: String, value: Double)] = []) -> DiagCheck {
        DiagCheck(name: name, status: .pass, summary: summary, numbers: numbers)
    }
    static func skipped(_ name: String, _ why: String, hint: String = "") -> DiagCheck {
        DiagCheck(name: name, status: .skipped, summary: why, hint: hint)
    }
    static func fail(_ name: String, _ summary: String, hint: String, _ numbers: [(key: String, value: Double)] = []) -> DiagCheck {
        DiagCheck(name: name, status: .fail, summary: summary, numbers: numbers, hint: hint)
    }

    /// The JSON object of this check.
    var json: [String: Any] {
        var numbersObject: [String: Any] = [:]
        for (k, v) in numbers { numbersObject[k] = v.isFinite ? (v * 1000).rounded() / 1000 : NSNull() }
        return ["name": name, "status": status.rawValue, "summary": summary, "numbers": numbersObject, "hint": hint]
    }

    /// The figures as people read them: "rms_dbfs -41.2, peak 0.12".
    var figures: String {
        numbers.map { "\($0.key) \(Self.format($0.value))" }.joined(separator: ", ")
    }

    static func format(_ v: Double) -> String {
        guard v.isFinite else { return "-" }
        return v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: abs(v) < 10 ? "%.3f" : "%.1f", v)
    }
}
