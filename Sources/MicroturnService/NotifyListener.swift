import Glibc

/// The receiving end of sd_notify, as systemd holds it: an AF_UNIX datagram socket bound to a path
/// (or "@name" in the abstract namespace). For benches and tests that stand in for systemd.
public final class NotifyListener: @unchecked Sendable {  // one reader at a time; the socket itself is thread-safe
    private let fd: Int32
    public let path: String

    public init?(path: String) {
        self.path = path
        guard let address = NotifySocketAddress(path) else { return nil }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else { close(fd); return nil }
    }

    deinit {
        close(fd)
        if path.hasPrefix("/") { unlink(path) }
    }

    /// Datagrams until `until` holds for the last one, or `seconds` pass without one.
    public func receive(seconds: Double, until: (String) -> Bool = { _ in false }) -> [String] {
        var out: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&p, 1, Int32(seconds * 1000)) > 0 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out.append(String(decoding: buffer[0..<n], as: UTF8.self))
            if until(out.last!) { break }
        }
        return out
    }

    /// The datagrams waiting, without blocking.
    public func drain() -> [String] { receive(seconds: 0) }
}
