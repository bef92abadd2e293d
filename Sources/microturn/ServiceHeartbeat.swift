import MicroturnCore
import MicroturnService

/// What a live run tells systemd (Type=notify): READY=1 once audio runs, a one-line STATUS as it
/// changes, WATCHDOG=1 from the frame loop (so a stalled loop gets the unit restarted), and
/// STOPPING=1 on the way out. Does nothing outside a service manager.
final class ServiceHeartbeat {
    private let notifier: SystemdNotifier
    private let devices: String
    private var ready = false
    private var turns = 0

    init?(capture: String, playback: String) {
        guard let n = SystemdNotifier.fromEnvironment() else { return nil }
        notifier = n
        devices = "listening on \(capture), speaking on \(playback)"
        notifier.status("opening \(capture) and \(playback)")
    }

    /// An event of the session (on its loop's thread).
    func saw(_ event: Event) {
        if event.kind == .turnEnd { turns += 1 }
    }

    /// Called on every pass of the frame loop with the frames processed so far.
    func beat(framesProcessed: Int) {
        notifier.watchdogIfDue(now: MonotonicClock.now())
        guard framesProcessed > 0 else { return }
        if !ready {
            ready = true
            notifier.ready(status: devices)
        } else if turns > 0 {
            notifier.status("\(devices); \(turns) turn\(turns == 1 ? "" : "s") taken")  // sent only when it changes
        }
    }

    func stopping() { notifier.stopping(status: "stopping after \(turns) turn\(turns == 1 ? "" : "s")") }
}
