import Foundation
import Glibc

/// A `microturn-server` process for the link's fault suite and benchmarks: started from the
/// build folder beside the running binary (or the test bundle), killed and started again on the
/// same port and state folder, with the CPU time the kernel counted for it.
public final class ServerProcess {
    public let executable: String
    public let arguments: [String]
    public let port: Int
    public private(set) var pid: pid_t = 0

    /// `directory`: the folder that holds `microturn-server` (this binary's, in a build).
    public init(directory: String, arguments: [String], port: Int) {
        executable = directory + "/microturn-server"
        self.arguments = arguments
        self.port = port
    }

    /// Starts it and waits until its port takes connections (a state, not a time).
    public func start(log: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ServerProcessError.cannotStart(executable, "\(String(cString: strerror(spawned))), with its output to \(log)") }
        let deadline = Date().addingTimeInterval(60)
        while !Self.accepts(port: port) {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                throw ServerProcessError.exited(executable, log)
            }
            guard Date() < deadline else { throw ServerProcessError.notListening(port) }
            usleep(20_000)
        }
    }

    /// Sends `signal` and waits for the process to end.
    public func stop(_ signal: Int32 = SIGKILL) {
        guard pid > 0 else { return }
        kill(pid, signal)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// User plus system CPU seconds the process has used so far (/proc/PID/stat).
    public var cpuSeconds: Double {
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    public static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = loopback(port: port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A port on loopback that nothing listens on now.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = loopback(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return addr
    }
}

public enum ServerProcessError: Error, CustomStringConvertible {
    case cannotStart(String, String)
    case exited(String, String)
    case notListening(Int)
    /// A peer server (not ours) that did not come up, and what installs it.
    case peerNotReady(String, String)

    public var description: String {
        switch self {
        case let .cannotStart(path, reason): "cannot start \(path): \(reason) (build it: swift build --product microturn-server)"
        case let .exited(path, log): "\(path) exited at start; its output is in \(log)"
        case let .notListening(port): "microturn-server did not listen on port \(port) within 60 s"
        case let .peerNotReady(name, hint): "\(name) did not start: \(hint)"
        }
    }
}
