import Glibc

/// The address of a notify socket as NOTIFY_SOCKET names it: a path, or "@name" in the abstract
/// namespace (a leading NUL and no terminator). Shared by the sending and the listening end.
struct NotifySocketAddress {
    var storage = sockaddr_un()
    let length: socklen_t

    /// Nil when `path` does not fit a socket address.
    init?(_ path: String) {
        var bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: storage.sun_path) else { return nil }
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
    }

    /// `body` with the address as the socket calls take it.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }
}
