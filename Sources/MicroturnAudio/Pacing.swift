import Glibc

/// How the device threads keep time.
public enum Pacing: Sendable, Equatable {
    /// Hardware: blocking reads and writes are paced by the sound card.
    case device
    /// Virtual PCMs paced by the wall clock, as a sound card would pace them.
    case realTime
    /// Virtual PCMs on a virtual clock: as fast as the machine allows, in lock step with processing,
    /// so a run gives the same output on any machine.
    case virtualClock
}

/// CLOCK_MONOTONIC in nanoseconds, and a sleep until a point on it.
public enum MonotonicClock {
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func sleep(until deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }
}
