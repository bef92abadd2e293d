import Crypto
import Foundation
import X509

/// Giving a device its identity on the link, in two steps (`microturn provision`):
/// 1. `request`: the device makes its own key (it never leaves the device) and a certificate
///    signing request naming its id;
/// 2. the fleet's CA signs the request (`microturn-server ca sign`), and `install` checks the
///    certificate against the key and the CA before putting both in the device's link folder.
public enum DeviceProvisioning {
    public static func keyPath(_ directory: String) -> String { directory + "/device.key" }
    public static func requestPath(_ directory: String) -> String { directory + "/device.csr" }

    /// Makes the device key (once: an existing key is kept, so asking again gives a request for
    /// the same key) and a signing request for `deviceId`. Returns the request's path and whether
    /// the key is new.
    public static func request(directory: String, deviceId: String) throws(LinkSetupError) -> (path: String, newKey: Bool) {
        guard LinkTLS.isValidDeviceId(deviceId) else {
            throw .invalid("device id '\(deviceId)' is not usable: 1-64 letters, digits, '.', '-' or '_'")
        }
        try makeDirectory(directory)
        let keyFile = keyPath(directory)
        let key: P256.Signing.PrivateKey
        let newKey = !FileManager.default.fileExists(atPath: keyFile)
        do {
            if newKey {
                key = P256.Signing.PrivateKey()
                try writeAtomically(Data(key.pemRepresentation.utf8), to: keyFile, mode: 0o600)
            } else {
                key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: keyFile, encoding: .utf8))
            }
            let csr = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName(deviceId) },
                privateKey: Certificate.PrivateKey(key), attributes: CertificateSigningRequest.Attributes(),
                signatureAlgorithm: .ecdsaWithSHA256)
            try writeAtomically(Data(csr.serializeAsPEM().pemString.utf8), to: requestPath(directory), mode: 0o644)
        } catch let e as LinkSetupError {
            throw e
        } catch {
            throw .unreadable(path: keyFile, reason: "\(error); remove it to make a new key (the device then needs a new certificate)")
        }
        return (requestPath(directory), newKey)
    }

    /// Checks and installs the signed certificate and the fleet CA's certificate: the certificate
    /// must be for this device's key, signed by that CA, and in date. Returns the certificate.
    @discardableResult
    public static func install(certificate certificateFile: String, ca caFile: String, directory: String,
                               now: Date = Date()) throws(LinkSetupError) -> Certificate {
        let keyFile = keyPath(directory)
        guard FileManager.default.fileExists(atPath: keyFile) else {
            throw .missing(path: keyFile, hint: "make the key and request first: microturn provision --dir \(directory) --device-id ID")
        }
        let certificate = try readCertificate(certificateFile)
        let ca = try readCertificate(caFile)
        do {
            let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: keyFile, encoding: .utf8))
            guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
                throw LinkSetupError.invalid("\(certificateFile) is for another key than \(keyFile): sign this device's \(requestPath(directory))")
            }
            guard certificate.issuer == ca.subject, ca.publicKey.isValidSignature(certificate.signature, for: certificate) else {
                throw LinkSetupError.invalid("\(certificateFile) was not signed by the CA in \(caFile): use the fleet's ca.pem")
            }
            guard certificate.notValidBefore <= now, now < certificate.notValidAfter else {
                throw LinkSetupError.invalid("\(certificateFile) is valid from \(certificate.notValidBefore) to \(certificate.notValidAfter), not now (\(now)): is the clock right? else sign a new one")
            }
            try writeAtomically(Data(certificate.serializeAsPEM().pemString.utf8), to: LinkTLS.Files.device(in: directory).certificate, mode: 0o644)
            try writeAtomically(Data(ca.serializeAsPEM().pemString.utf8), to: LinkTLS.Files.device(in: directory).ca, mode: 0o644)
        } catch let e as LinkSetupError {
            throw e
        } catch {
            throw .unreadable(path: keyFile, reason: "\(error)")
        }
        return certificate
    }

    public static func readCertificate(_ path: String) throws(LinkSetupError) -> Certificate {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .missing(path: path, hint: "give the certificate file (PEM) the fleet CA made")
        }
        do { return try Certificate(pemEncoded: text) } catch {
            throw .unreadable(path: path, reason: "not a PEM certificate (\(error))")
        }
    }

    public static func makeDirectory(_ directory: String) throws(LinkSetupError) {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .unreadable(path: directory, reason: "cannot make the folder (\(error)); choose a writable one with --dir")
        }
    }

    /// Written beside, then renamed over: a crash leaves the old file or the new one, never half.
    /// The mode is set before any byte is written (a key is never readable by others).
    public static func writeAtomically(_ data: Data, to path: String, mode: Int) throws(LinkSetupError) {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: mode]),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw .unreadable(path: path, reason: "cannot write beside it (is the folder writable?)")
        }
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, path) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw .unreadable(path: path, reason: "cannot write it (\(error))")
        }
    }
}
