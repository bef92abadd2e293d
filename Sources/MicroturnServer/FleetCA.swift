import Crypto
import Foundation
import MicroturnLink
import SwiftASN1
import X509

/// The fleet's certificate authority, in one folder (`microturn-server ca`):
///
///     ca.key, ca.pem           the CA (the key can live offline: serving needs only the rest)
///     server.key, server.pem   the server's own identity, for the host names devices dial
///     issued.tsv               serial, device id, not-after, issued-at: every device certificate
///     revoked.tsv              serial, device id, revoked-at: read by the server at each handshake
///
/// Device certificates are for client authentication only and the server's for server
/// authentication only, so neither can stand in for the other.
public struct FleetCA: Sendable {
    public let directory: String
    public let certificate: Certificate
    private let key: Certificate.PrivateKey

    public static func issuedPath(_ directory: String) -> String { directory + "/issued.tsv" }
    public static func revokedPath(_ directory: String) -> String { directory + "/revoked.tsv" }
    static func keyPath(_ directory: String) -> String { directory + "/ca.key" }

    /// Makes a new CA and the server's certificate for `serverNames` (host names or IP addresses).
    /// Refuses to overwrite an existing CA: every device it signed would be cut off.
    @discardableResult
    public static func create(directory: String, name: String, days: Int, serverNames: [String], now: Date = Date()) throws(LinkSetupError) -> FleetCA {
        guard !FileManager.default.fileExists(atPath: keyPath(directory)) else {
            throw .invalid("\(keyPath(directory)) exists: a new CA would cut off every device the old one signed; choose another --dir")
        }
        guard (1...36_500).contains(days) else { throw .invalid("--days \(days): give 1 to 36500") }
        guard !serverNames.isEmpty else { throw .invalid("give the server's host name or address with --server-name") }
        try DeviceProvisioning.makeDirectory(directory)
        let caKey = P256.Signing.PrivateKey()
        let serverKey = P256.Signing.PrivateKey()
        do {
            let caName = try DistinguishedName { CommonName(name) }
            let ca = try Certificate(
                version: .v3, serialNumber: serial(), publicKey: .init(caKey.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
                issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(caKey))
            let server = try Certificate(
                version: .v3, serialNumber: serial(), publicKey: .init(serverKey.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
                issuer: caName, subject: try DistinguishedName { CommonName(serverNames[0]) }, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(try serverNames.map(generalName))
                },
                issuerPrivateKey: .init(caKey))
            let files = LinkTLS.Files.server(in: directory)
            try DeviceProvisioning.writeAtomically(Data(caKey.pemRepresentation.utf8), to: keyPath(directory), mode: 0o600)
            try DeviceProvisioning.writeAtomically(Data(ca.serializeAsPEM().pemString.utf8), to: files.ca, mode: 0o644)
            try DeviceProvisioning.writeAtomically(Data(serverKey.pemRepresentation.utf8), to: files.key, mode: 0o600)
            try DeviceProvisioning.writeAtomically(Data(server.serializeAsPEM().pemString.utf8), to: files.certificate, mode: 0o644)
            for path in [issuedPath(directory), revokedPath(directory)] {
                try DeviceProvisioning.writeAtomically(Data(), to: path, mode: 0o644)
            }
        } catch let e as LinkSetupError {
            throw e
        } catch {
            throw .invalid("cannot make the CA: \(error)")
        }
        return try FleetCA(directory: directory)
    }

    /// The CA in `directory` (its key is needed: this is for signing and revoking).
    public init(directory: String) throws(LinkSetupError) {
        self.directory = directory
        let keyFile = Self.keyPath(directory)
        guard let keyText = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
            throw .missing(path: keyFile, hint: "make the CA first (microturn-server ca init --dir \(directory)), or give the folder that has it")
        }
        certificate = try DeviceProvisioning.readCertificate(LinkTLS.Files.server(in: directory).ca)
        do { key = Certificate.PrivateKey(try P256.Signing.PrivateKey(pemRepresentation: keyText)) } catch {
            throw .unreadable(path: keyFile, reason: "not a P-256 key in PEM (\(error))")
        }
        guard certificate.publicKey == key.publicKey else {
            throw .invalid("\(keyFile) does not belong to \(LinkTLS.Files.server(in: directory).ca): the CA folder is damaged")
        }
    }

    /// Signs a device's certificate request; the device id is the request's common name.
    public func sign(requestPEM: String, days: Int, now: Date = Date()) throws(LinkSetupError) -> (certificate: Certificate, deviceId: String) {
        guard (1...36_500).contains(days) else { throw .invalid("--days \(days): give 1 to 36500") }
        let request: CertificateSigningRequest
        do { request = try CertificateSigningRequest(pemEncoded: requestPEM) } catch {
            throw .invalid("not a certificate signing request in PEM (\(error)); give the device.csr that microturn provision wrote")
        }
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw .invalid("the request's signature does not verify: it was altered, or not made by its key")
        }
        guard let deviceId = LinkTLS.commonName(request.subject), LinkTLS.isValidDeviceId(deviceId) else {
            throw .invalid("the request names no usable device id (common name of 1-64 letters, digits, '.', '-', '_')")
        }
        let notAfter = min(now.addingTimeInterval(Double(days) * 86_400), certificate.notValidAfter)
        do {
            let signed = try Certificate(
                version: .v3, serialNumber: Self.serial(), publicKey: request.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: notAfter,
                issuer: certificate.subject, subject: request.subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.clientAuth])
                },
                issuerPrivateKey: key)
            try append([LinkTLS.serialHex(signed), deviceId, Self.iso(notAfter), Self.iso(now)], to: Self.issuedPath(directory))
            return (signed, deviceId)
        } catch let e as LinkSetupError {
            throw e
        } catch {
            throw .invalid("cannot sign: \(error)")
        }
    }

    /// Provisions a device in one step where the CA and the device's folder are on one machine
    /// (a flashing station, a test): its key and request, this CA's signature, the install.
    @discardableResult
    public func enroll(deviceDirectory: String, deviceId: String, days: Int = 365) throws(LinkSetupError) -> Certificate {
        let (requestFile, _) = try DeviceProvisioning.request(directory: deviceDirectory, deviceId: deviceId)
        guard let requestPEM = try? String(contentsOfFile: requestFile, encoding: .utf8) else {
            throw .missing(path: requestFile, hint: "the request was not written; is the folder writable?")
        }
        let signed = try sign(requestPEM: requestPEM, days: days).certificate
        let signedFile = deviceDirectory + "/device.pem.signed"
        defer { try? FileManager.default.removeItem(atPath: signedFile) }
        do { try DeviceProvisioning.writeAtomically(Data(signed.serializeAsPEM().pemString.utf8), to: signedFile, mode: 0o644) } catch {
            throw .invalid("cannot write the certificate: \(error)")
        }
        return try DeviceProvisioning.install(certificate: signedFile, ca: LinkTLS.Files.server(in: directory).ca, directory: deviceDirectory)
    }

    /// One certificate the CA signed (a line of issued.tsv).
    public struct Issued: Sendable, Equatable {
        public var serial: String
        public var deviceId: String
        public var notAfter: String
    }

    public func issued() -> [Issued] {
        Self.rows(Self.issuedPath(directory)).compactMap { $0.count >= 3 ? Issued(serial: $0[0], deviceId: $0[1], notAfter: $0[2]) : nil }
    }

    /// Serials revoked so far.
    public func revokedSerials() -> Set<String> { RevocationList.serials(in: Self.revokedPath(directory)) }

    /// Revokes a certificate by serial, or every certificate of a device by its id. Returns the
    /// serials newly revoked (none if all were already).
    public func revoke(_ serialOrDevice: String, now: Date = Date()) throws(LinkSetupError) -> [String] {
        let matching = issued().filter { $0.serial == serialOrDevice.lowercased() || $0.deviceId == serialOrDevice }
        guard !matching.isEmpty else {
            throw .invalid("no certificate with serial or device id '\(serialOrDevice)' was issued by this CA; see microturn-server ca list")
        }
        let already = revokedSerials()
        var revoked: [String] = []
        for cert in matching where !already.contains(cert.serial) {
            try append([cert.serial, cert.deviceId, Self.iso(now)], to: Self.revokedPath(directory))
            revoked.append(cert.serial)
        }
        return revoked
    }

    // MARK: files

    private func append(_ fields: [String], to path: String) throws(LinkSetupError) {
        let line = fields.joined(separator: "\t") + "\n"
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw .missing(path: path, hint: "the CA folder is incomplete; was it made by microturn-server ca init?")
        }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            throw .unreadable(path: path, reason: "cannot append to it (\(error))")
        }
    }

    static func rows(_ path: String) -> [[String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// 16 random bytes, positive and with no leading zero byte, so every encoder writes it the same.
    static func serial() -> Certificate.SerialNumber {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        bytes[0] = UInt8.random(in: 1...0x7f)
        return Certificate.SerialNumber(bytes: bytes)
    }

    static func generalName(_ name: String) throws(LinkSetupError) -> GeneralName {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: &v4) { ArraySlice($0) }))
        }
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: &v6) { ArraySlice($0) }))
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.".contains($0)) }) else {
            throw .invalid("server name '\(name)' is neither a host name nor an IP address")
        }
        return .dnsName(name)
    }
}
