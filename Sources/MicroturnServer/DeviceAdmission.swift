import Foundation
import MicroturnLink
import NIOSSL
import Synchronization
import X509

/// Which devices the server lets in: a certificate the fleet CA signed for client authentication,
/// in date, and not revoked. The TLS handshake proves the device holds the certificate's key; this
/// decides whether that identity is admitted. A refused device still completes the handshake, is
/// told which check it failed (an ERROR frame: AUTH_UNKNOWN_DEVICE, AUTH_EXPIRED, AUTH_REVOKED),
/// and the connection is closed before any of its frames is read.
public final class DeviceAdmission: Sendable {
    public enum Verdict: Sendable, Equatable {
        case admitted(deviceId: String, serial: String)
        case refused(code: Microturn_Link_V1_Error.Code, message: String)
    }

    private let ca: Certificate
    private let revocations: RevocationList

    public init(caDirectory: String) throws(LinkSetupError) {
        ca = try DeviceProvisioning.readCertificate(LinkTLS.Files.server(in: caDirectory).ca)
        revocations = RevocationList(path: FleetCA.revokedPath(caDirectory))
    }

    /// The verdict on the chain a device presented (its certificate first).
    public func verdict(_ chain: [NIOSSLCertificate], now: Date = Date()) -> Verdict {
        guard let leaf = chain.first, let der = try? leaf.toDERBytes(), let certificate = try? Certificate(derEncoded: der) else {
            return .refused(code: .authUnknownDevice, message: "the device presented no readable certificate; provision it (microturn provision)")
        }
        return verdict(certificate, now: now)
    }

    public func verdict(_ certificate: Certificate, now: Date = Date()) -> Verdict {
        let serial = LinkTLS.serialHex(certificate)
        let name = LinkTLS.commonName(certificate) ?? "?"
        guard certificate.issuer == ca.subject, ca.publicKey.isValidSignature(certificate.signature, for: certificate) else {
            return .refused(code: .authUnknownDevice,
                            message: "the certificate of '\(name)' (serial \(serial)) was not signed by this fleet's CA; provision the device for this fleet")
        }
        guard (try? certificate.extensions.extendedKeyUsage)??.contains(.clientAuth) == true, LinkTLS.isValidDeviceId(name) else {
            return .refused(code: .authUnknownDevice, message: "certificate '\(name)' (serial \(serial)) is not a device certificate")
        }
        guard certificate.notValidBefore <= now, now < certificate.notValidAfter else {
            return .refused(code: .authExpired,
                            message: "the certificate of device '\(name)' (serial \(serial)) is valid from \(certificate.notValidBefore) to \(certificate.notValidAfter), not now; sign and install a new one (microturn-server ca sign, microturn provision --install)")
        }
        guard !revocations.contains(serial) else {
            return .refused(code: .authRevoked,
                            message: "the certificate of device '\(name)' (serial \(serial)) was revoked; the device needs a new certificate from the fleet's operator")
        }
        return .admitted(deviceId: name, serial: serial)
    }
}

/// revoked.tsv, read again whenever it changes, so a revocation takes effect at the next handshake
/// without restarting the server.
final class RevocationList: Sendable {
    private let path: String
    private let cache = Mutex<(stamp: [Int], serials: Set<String>)>(([], []))

    init(path: String) { self.path = path }

    func contains(_ serial: String) -> Bool {
        var st = stat()
        let stamp = stat(path, &st) == 0 ? [Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec), Int(st.st_size), Int(st.st_ino)] : []
        return cache.withLock { c in
            if c.stamp != stamp { c = (stamp, Self.serials(in: path)) }
            return c.serials.contains(serial)
        }
    }

    static func serials(in path: String) -> Set<String> {
        Set(FleetCA.rows(path).compactMap { $0.first?.lowercased() })
    }
}
