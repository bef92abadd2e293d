import MicroturnCore

/// Timers the background server set on the device for the user ("set a timer for five minutes"),
/// on the capture clock: when one is due, the device says so.
struct DeviceTimers {
    struct Timer: Equatable {
        var label: String
        /// Capture sample when it is up.
        var due: Int
    }

    private(set) var running: [Timer] = []
    /// More would be a model gone wrong, not a user.
    static let limit = 10
    static let longestSeconds = 24 * 3600

    enum Refusal: Error, CustomStringConvertible {
        case duration(Double)
        case tooMany

        var description: String {
            switch self {
            case let .duration(s): "a timer must last 1 s to \(DeviceTimers.longestSeconds / 3600) h, not \(s) s"
            case .tooMany: "\(DeviceTimers.limit) timers already run; cancel one first"
            }
        }
    }

    mutating func set(seconds: Double, label: String, at now: Int) throws(Refusal) {
        guard seconds.isFinite, seconds >= 1, seconds <= Double(Self.longestSeconds) else { throw .duration(seconds) }
        guard running.count < Self.limit else { throw .tooMany }
        running.append(Timer(label: label, due: now + ProcessingFormat.samples(seconds: seconds)))
    }

    /// Cancels the timers with `label` (all, when nil); returns how many.
    mutating func cancel(label: String?) -> Int {
        let before = running.count
        running.removeAll { label == nil || $0.label == label }
        return before - running.count
    }

    /// The timers up at capture sample `now`, taken off the list.
    mutating func due(at now: Int) -> [Timer] {
        let up = running.filter { $0.due <= now }
        running.removeAll { $0.due <= now }
        return up
    }
}
