import Foundation
import MicroturnCore
import MicroturnLink
import X509

/// `microturn diag` on the link: the server's name resolves, its port answers, the device's
/// certificate is in date, and a TLS session with the device's certificate is welcomed.
enum DiagLink {
    static func checks(config: MicroturnConfig.Link) -> [DiagCheck] {
        guard let (host, port) = Endpoint.parse(config.server) else {
            return [.skipped("link", "no link.server configured: the device works alone (local commands, counting)")]
        }
        var out: [DiagCheck] = []
        // Name resolution.
        var hints = addrinfo(ai_flags: 0, ai_family: AF_UNSPEC, ai_socktype: Int32(SOCK_STREAM.rawValue), ai_protocol: 0,
                             ai_addrlen: 0, ai_addr: nil, ai_canonname: nil, ai_next: nil)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolveStart = MonotonicClock.now()
        let rc = getaddrinfo(host, String(port), &hints, &list)
        let resolveMs = Double(MonotonicClock.now() - resolveStart) / 1e6
        guard rc == 0, let first = list else {
            return [.fail("link.resolve", "\(host) does not resolve: \(String(cString: gai_strerror(rc)))",
                          hint: "check the network (ip route, /etc/resolv.conf) and link.server's spelling", [("ms", resolveMs)])]
        }
        defer { freeaddrinfo(list) }
        var address = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &address, socklen_t(address.count), nil, 0, NI_NUMERICHOST)
        let numeric = String(cString: address)
        out.append(.pass("link.resolve", "\(host) is \(numeric)", [("ms", resolveMs)]))

        // A TCP connection: the network's round trip, near enough.
        switch connect(first.pointee, timeoutMs: 3000) {
        case .success(let ms):
            out.append(.pass("link.tcp", String(format: "%@ port %d answers in %.1f ms", numeric, port, ms), [("connect_ms", ms)]))
        case .failure(let why):
            out.append(.fail("link.tcp", "\(numeric) port \(port): \(why)",
                             hint: "is microturn-server running there and its port open in the firewall? (ss -ltn on the server)"))
            return out
        }

        // The device's certificate.
        if config.plaintext {
            out.append(.skipped("link.certificate", "link.plaintext: no TLS (development only)"))
        } else {
            let files = LinkTLS.Files.device(in: config.directory)
            do {
                let certificate = try DeviceProvisioning.readCertificate(files.certificate)
                let days = certificate.notValidAfter.timeIntervalSinceNow / 86_400
                let figures: [(key: String, value: Double)] = [("days_left", days)]
                if certificate.notValidBefore > Date() || days < 0 {
                    out.append(.fail("link.certificate", "\(files.certificate) is valid from \(certificate.notValidBefore) to \(certificate.notValidAfter), not now (\(Date()))",
                                     hint: "if the clock is right (system.clock), sign a new certificate: microturn provision --help", figures))
                } else if days < 30 {
                    out.append(DiagCheck(name: "link.certificate", status: .warn, summary: String(format: "expires in %.0f days (%@)", days, "\(certificate.notValidAfter)"),
                                         numbers: figures, hint: "have the fleet CA sign a new one before then (microturn provision --help)"))
                } else {
                    out.append(.pass("link.certificate", String(format: "valid for %.0f more days", days), figures))
                }
            } catch {
                out.append(.fail("link.certificate", "\(error)", hint: "provision the device: microturn provision --help"))
                return out
            }
        }

        // A session: TLS handshake with the device's certificate, HELLO, WELCOME. It uses no
        // outbox, so a running device's requests are not touched.
        do {
            var options = try LinkClient.Options(config: config)
            options.outboxPath = nil
            options.statusPath = nil
            let client = try LinkClient(options: options) { _ in }
            let start = MonotonicClock.now()
            client.start()
            defer { client.stop() }
            let deadline = start + 8_000_000_000
            while !client.isUp && MonotonicClock.now() < deadline { usleep(10_000) }
            let ms = Double(MonotonicClock.now() - start) / 1e6
            if client.isUp {
                let software = client.serverSoftware.isEmpty ? "a server that does not say its version" : client.serverSoftware
                out.append(.pass("link.session", String(format: "welcomed by %@ in %.0f ms (TLS handshake, HELLO, WELCOME)", software, ms), [("welcome_ms", ms)]))
            } else {
                out.append(.fail("link.session", "no WELCOME within 8 s: \(client.lastError ?? "no answer")",
                                 hint: "a TLS error names the side that refused: a revoked or unsigned device certificate, or a server certificate from another CA", [("waited_ms", ms)]))
            }
        } catch {
            out.append(.fail("link.session", "\(error)", hint: "fix the link settings: microturn link --help"))
        }
        return out
    }

    enum Connected { case success(Double), failure(String) }

    /// A non-blocking connect, waited for at most `timeoutMs`.
    static func connect(_ info: addrinfo, timeoutMs: Int32) -> Connected {
        let fd = socket(info.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(String(cString: strerror(errno))) }
        defer { close(fd) }
        let start = MonotonicClock.now()
        if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) != 0 && errno != EINPROGRESS {
            return .failure(String(cString: strerror(errno)))
        }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&p, 1, timeoutMs) == 1 else { return .failure("no answer within \(timeoutMs) ms") }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { return .failure(String(cString: strerror(error))) }
        return .success(Double(MonotonicClock.now() - start) / 1e6)
    }
}
