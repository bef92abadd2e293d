import ArgumentParser
import MicroturnAudio

/// Checks of numeric flags for `validate()`: a value outside what a command can use (`inf`,
/// `nan`, `1e300`, a negative count) is a usage error naming the flag, before anything runs.
enum FlagChecks {
    /// Ten years: longer than any run is meant to last, short enough that nanoseconds fit in 64 bits.
    static let maxSeconds = 315_360_000.0

    /// A length of time in seconds: finite, above `minimum`, at most `maxSeconds`.
    static func seconds(_ value: Double?, _ flag: String, minimum: Double = 0, allowZero: Bool = false) throws {
        guard let value else { return }
        let ok = value.isFinite && value <= maxSeconds && (value > minimum || (allowZero && value == 0))
        guard ok else {
            throw ValidationError("\(flag) takes seconds\(allowZero ? " (0 to skip)" : "") from \(minimum == 0 ? "above 0" : "above \(minimum)") to \(Int(maxSeconds)) (ten years), got \(value)")
        }
    }

    /// A whole number in `range`.
    static func integer(_ value: Int?, _ flag: String, _ range: ClosedRange<Int>) throws {
        guard let value else { return }
        guard range.contains(value) else { throw ValidationError("\(flag) must be \(range.lowerBound)-\(range.upperBound), got \(value)") }
    }

    /// A finite number in `range`.
    static func number<T: BinaryFloatingPoint>(_ value: T?, _ flag: String, _ range: ClosedRange<T>) throws {
        guard let value else { return }
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(flag) must be a number from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
    }

    /// A simulated echo path, DELAY_MS:GAIN_DB[:REVERB_MS[:NOISE_DB]].
    static func echoPath(_ value: String?) throws {
        guard let value, EchoPath.Spec(parsing: value) == nil else { return }
        throw ValidationError("--echo-path takes DELAY_MS:GAIN_DB[:REVERB_MS[:NOISE_DB]], e.g. 40:-10:150 (delay 0-500, gain -80..6), got \(value)")
    }
}
