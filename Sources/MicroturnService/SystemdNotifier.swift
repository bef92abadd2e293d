import Glibc

/// The service manager's notification protocol (sd_notify(3)), spoken directly: one datagram of
/// `KEY=value` lines to the AF_UNIX socket named in NOTIFY_SOCKET (a path, or "@name" in the
/// abstract namespace). Without NOTIFY_SOCKET (a run from a shell) every call does nothing.
///
/// The watchdog: systemd sets WATCHDOG_USEC (and WATCHDOG_PID) when the unit has WatchdogSec=; the
/// process must say WATCHDOG=1 more often than that or be restarted. `watchdogIfDue` is called from
/// the loop whose liveness it vouches for, and sends at half the interval, as systemd advises.
/// `status` and `watchdogIfDue` keep what they last sent: call them from that one loop.
public final class SystemdNotifier: @unchecked Sendable {
    private let socket: Int32
    private let address: NotifySocketAddress
    /// The watchdog interval systemd asked for, in nanoseconds; nil when there is none for us.
    public let watchdogNanoseconds: UInt64?
    private var lastPing: UInt64 = 0
    private var lastStatus = ""
    /// Serializes sends from several threads (the frame loop and a stopping signal's path).
    private var lock = pthread_mutex_t()

    /// Nil when this process was not started by a service manager that listens.
    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@"),
              let address = NotifySocketAddress(path) else { return nil }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        socket = fd
        self.address = address
        // WATCHDOG_PID, when set, names the process the watchdog is for (not a child of it).
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0, usec < UInt64.max / 1000 {
            watchdogNanoseconds = usec * 1000
        } else {
            watchdogNanoseconds = nil
        }
        pthread_mutex_init(&lock, nil)
    }

    /// The notifier of this process's environment, or nil outside a service manager.
    public static func fromEnvironment() -> SystemdNotifier? {
        var env: [String: String] = [:]
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let v = getenv(key) { env[key] = String(cString: v) }
        }
        return SystemdNotifier(environment: env)
    }

    deinit {
        close(socket)
        pthread_mutex_destroy(&lock)
    }

    /// Sends `state` (newline-separated assignments). False when the manager could not be told.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let bytes = Array(state.utf8)
        // Never wait: a manager that reads slowly (a full queue) must not stall the frame loop.
        let sent = address.withSockaddr { sa, length in
            bytes.withUnsafeBytes { sendto(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), sa, length) }
        }
        return sent == bytes.count
    }

    /// READY=1 with the state the service is in.
    public func ready(status: String) { notify("READY=1\nSTATUS=\(Self.oneLine(status))") }

    /// STOPPING=1: the manager knows the exit that follows is asked for.
    public func stopping(status: String) { notify("STOPPING=1\nSTATUS=\(Self.oneLine(status))") }

    /// STATUS=, only when it changed (the manager keeps the last one; `systemctl status` shows it).
    public func status(_ text: String) {
        let line = Self.oneLine(text)
        guard line != lastStatus else { return }
        lastStatus = line
        notify("STATUS=\(line)")
    }

    /// WATCHDOG=1 when half the interval has passed since the last one. `now` is a monotonic time
    /// in nanoseconds. Call it from the loop whose stalling should get the service restarted.
    public func watchdogIfDue(now: UInt64) {
        guard let interval = watchdogNanoseconds, now &- lastPing >= interval / 2 || lastPing == 0 else { return }
        lastPing = now
        notify("WATCHDOG=1")
    }

    static func oneLine(_ s: String) -> String {
        String(s.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
