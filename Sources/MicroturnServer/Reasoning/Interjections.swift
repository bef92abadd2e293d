import Foundation
import MicroturnLink
import Synchronization

/// Remarks nobody asked for, on what a device reports: after a set of exercise, a short word on
/// it ("Nice set of 8; the last three were slower."), from the count and the repetitions' timing.
/// Only to a device that takes them (HELLO "interjections"), at most one per `minimumGap` each;
/// the device says one only in a pause, and drops it when the moment has passed. Every set such a
/// device reports is answered, with an empty remark when none is due, so that the device knows
/// there is nothing to wait for (the server offers "interjections" in WELCOME).
public final class Interjections: Sendable {
    public let minimumGap: Duration
    private let last = Mutex<[String: ContinuousClock.Instant]>([:])
    private let counter = Atomic<Int>(0)

    public init(minimumGap: Duration = .seconds(60)) {
        self.minimumGap = minimumGap
    }

    public func observe(_ device: DeviceContact, _ event: Microturn_Link_V1_Event) {
        guard event.kind == .repetition, event.count > 0, device.capabilities.contains(LinkCapabilities.interjections) else { return }
        let durations = (try? JSONDecoder().decode([Double].self, from: Data(event.text.utf8))) ?? []
        let now = ContinuousClock.now
        let due = last.withLock { last in
            if let previous = last[device.id], now - previous < minimumGap { return false }
            last[device.id] = now
            return true
        }
        var r = Microturn_Link_V1_Result()
        r.taskID = "interjection-\(counter.add(1, ordering: .relaxed).newValue)"
        r.final = true
        r.interjection = true
        r.text = due ? Self.remark(count: Int(event.count), durations: durations) : ""
        device.send(.result(r))
    }

    /// What to say about a set of `count` repetitions that took `durations` seconds each: its
    /// pace at the end against its start, when there are enough to tell (six or more).
    static func remark(count: Int, durations: [Double]) -> String {
        let opening = "Nice set of \(count)"
        let usable = durations.filter { $0.isFinite && $0 > 0 }
        guard usable.count >= 6 else { return opening + "." }
        let first = usable.prefix(3).reduce(0, +) / 3, lastThree = usable.suffix(3).reduce(0, +) / 3
        if lastThree > first * 1.2 { return opening + "; the last three were slower." }
        if lastThree < first / 1.2 { return opening + "; the last three were faster." }
        return opening + ", at a steady pace."
    }
}

/// The device an EVENT came from, as an observer sees it: its id, what it said it can do, and a
/// way to send it a reliable frame.
public struct DeviceContact: Sendable {
    public let id: String
    public let capabilities: [String]
    public let send: @Sendable (LinkBody) -> Void
}
