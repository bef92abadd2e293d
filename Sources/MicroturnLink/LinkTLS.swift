import Foundation
import NIOSSL
import X509

/// The link's TLS 1.3 with mutual authentication (PROTOCOL.md, "Transport"): the device proves who
/// it is with its own key and a certificate the fleet's CA signed; the server proves it is the
/// fleet's server with a certificate the same CA signed for its host name.
public enum LinkTLS {
    /// Where one side's credentials are: its certificate, its key, the fleet CA's certificate.
    public struct Files: Sendable, Equatable {
        public var certificate: String
        public var key: String
        public var ca: String

        /// A device's, in its link state folder (written by `microturn provision`).
        public static func device(in directory: String) -> Files {
            Files(certificate: directory + "/device.pem", key: directory + "/device.key", ca: directory + "/ca.pem")
        }

        /// The server's, in the fleet CA folder (written by `microturn-server ca init`).
        public static func server(in directory: String) -> Files {
            Files(certificate: directory + "/server.pem", key: directory + "/server.key", ca: directory + "/ca.pem")
        }
    }

    /// The device's side: it verifies the server against the fleet CA and the host name it dialled.
    public static func clientContext(_ files: Files) throws(LinkSetupError) -> NIOSSLContext {
        let (chain, key, ca) = try load(files, provisionHint: true)
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv13
        config.certificateChain = chain.map { .certificate($0) }
        config.privateKey = .privateKey(key)
        config.trustRoots = .certificates(ca)
        config.certificateVerification = .fullVerification
        return try context(config, files)
    }

    /// The server's side. It asks every device for its certificate; which devices it admits is
    /// decided by the caller's verification callback (signed by the CA, in date, not revoked),
    /// so that a refused device is told which of these it failed.
    public static func serverContext(_ files: Files) throws(LinkSetupError) -> NIOSSLContext {
        let (chain, key, ca) = try load(files, provisionHint: false)
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv13
        config.trustRoots = .certificates(ca)
        config.certificateVerification = .noHostnameVerification
        return try context(config, files)
    }

    private static func load(_ files: Files, provisionHint: Bool) throws(LinkSetupError)
        -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, ca: [NIOSSLCertificate]) {
        for path in [files.certificate, files.key, files.ca] where !FileManager.default.fileExists(atPath: path) {
            throw .missing(path: path, hint: provisionHint
                ? "provision this device first: microturn provision --help"
                : "make the fleet CA and the server's certificate first: microturn-server ca init --help")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
            let ca = try NIOSSLCertificate.fromPEMFile(files.ca)
            let key = try NIOSSLPrivateKey(file: files.key, format: .pem)
            guard !chain.isEmpty, !ca.isEmpty else { throw LinkSetupError.unreadable(path: files.certificate, reason: "no certificate in it") }
            return (chain, key, ca)
        } catch let e as LinkSetupError {
            throw e
        } catch {
            throw .unreadable(path: "\(files.certificate), \(files.key) or \(files.ca)", reason: "\(error)")
        }
    }

    private static func context(_ config: TLSConfiguration, _ files: Files) throws(LinkSetupError) -> NIOSSLContext {
        do { return try NIOSSLContext(configuration: config) } catch {
            throw .unreadable(path: "\(files.certificate) and \(files.key)", reason: "\(error) (does the key belong to the certificate?)")
        }
    }

    /// A certificate's serial number as lower-case hex: how the fleet's files name certificates.
    public static func serialHex(_ certificate: Certificate) -> String {
        Array(certificate.serialNumber.bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The subject's common name: a device's id, or the CA's or server's name.
    public static func commonName(_ certificate: Certificate) -> String? { commonName(certificate.subject) }

    public static func commonName(_ name: DistinguishedName) -> String? {
        for rdn in name {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                return String(attribute.value)
            }
        }
        return nil
    }

    /// Device ids are names in file paths, logs and certificates: letters, digits, '.', '-', '_'.
    public static func isValidDeviceId(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}

/// Credentials that are missing or do not load, with what to do.
public enum LinkSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(path: String, hint: String)
    case unreadable(path: String, reason: String)
    case invalid(String)

    /// The sysexits code a command exits with: no such file, an I/O error, bad data.
    public var sysexitsCode: Int32 {
        switch self {
        case .missing: 66
        case .unreadable: 74
        case .invalid: 65
        }
    }

    public var description: String {
        switch self {
        case let .missing(path, hint): "\(path) does not exist; \(hint)"
        case let .unreadable(path, reason): "cannot use \(path): \(reason)"
        case let .invalid(message): message
        }
    }
}
