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
