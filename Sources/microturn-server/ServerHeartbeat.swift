import MicroturnCore
import MicroturnServer
import MicroturnService
import NIOCore
import NIOPosix

/// What the server tells systemd (Type=notify): READY=1 once it listens, a STATUS line with the
/// devices and tasks, WATCHDOG=1 from one of its event loops (a stalled loop stops the pings and
/// gets the unit restarted), STOPPING=1 when it begins to drain. Nothing outside a service manager.
final class ServerHeartbeat: @unchecked Sendable {
    private let notifier: SystemdNotifier
    private var task: RepeatedTask?

    init?() {
        guard let n = SystemdNotifier.fromEnvironment() else { return nil }
        notifier = n
    }

    /// READY=1, then a beat every 250 ms on one event loop (all sends happen there).
    func start(server: LinkServer, listening: String, on loop: any EventLoop) {
        notifier.ready(status: "listening on \(listening)")
        task = loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [notifier] _ in
            notifier.watchdogIfDue(now: MonotonicClock.now())
            let devices = server.sessions.count, tasks = server.sessions.running
            notifier.status("listening on \(listening); \(devices) device\(devices == 1 ? "" : "s") connected, \(tasks) task\(tasks == 1 ? "" : "s") running")
        }
    }

    func stopping(draining: Int) {
        task?.cancel()
        notifier.stopping(status: "draining \(draining) running task\(draining == 1 ? "" : "s")")
    }
}
