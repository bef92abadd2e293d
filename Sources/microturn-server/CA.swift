import ArgumentParser
import Foundation
import MicroturnLink
import MicroturnServer

/// `microturn-server ca`: the fleet's certificate authority.
struct CA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the fleet's certificate authority: make it, sign devices, revoke them.",
        discussion: """
        The CA folder holds ca.key (keep it safe: it can sign devices), ca.pem, the server's own
        server.key and server.pem, issued.tsv (every device certificate) and revoked.tsv (read by the
        server at each handshake: a revocation takes effect without a restart).
        """,
        subcommands: [Init.self, Sign.self, Enroll.self, Revoke.self, List.self])

    struct Folder: ParsableArguments {
        @Option(name: .customLong("dir"), help: "The CA folder.")
        var directory = "/etc/microturn-server/ca"
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a new CA and the server's certificate.")
        @OptionGroup var folder: Folder
        @Option(help: "The CA's name.") var name = "Microturn fleet CA"
        @Option(help: "Days the CA and the server's certificate are valid.") var days = 3650
        @Option(name: .customLong("server-name"), help: "A host name or address devices dial (repeat for several).")
        var serverNames: [String] = ["localhost", "127.0.0.1", "::1"]

        func run() async throws {
            try await withServerExitCodes {
                let ca = try FleetCA.create(directory: folder.directory, name: name, days: days, serverNames: serverNames)
                print("made the CA '\(name)' and the server's certificate for \(serverNames.joined(separator: ", ")) in \(ca.directory)")
                print("next: sign each device's request (microturn-server ca sign --dir \(ca.directory) device.csr)")
            }
        }
    }

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a device's certificate request (device.csr from `microturn provision`).")
        @OptionGroup var folder: Folder
        @Argument(help: "The request (PEM).") var request: String
        @Option(help: "Where to write the certificate (default: beside the request, .pem).") var out: String?
        @Option(help: "Days the certificate is valid.") var days = 365

        func run() async throws {
            try await withServerExitCodes {
                let ca = try FleetCA(directory: folder.directory)
                guard let pem = try? String(contentsOfFile: request, encoding: .utf8) else {
                    throw LinkSetupError.missing(path: request, hint: "give the device.csr that microturn provision wrote")
                }
                let (certificate, deviceId) = try ca.sign(requestPEM: pem, days: days)
                let target = out ?? (request.hasSuffix(".csr") ? String(request.dropLast(4)) : request) + ".pem"
                try DeviceProvisioning.writeAtomically(Data(try certificate.serializeAsPEM().pemString.utf8), to: target, mode: 0o644)
                print("signed device '\(deviceId)' (serial \(LinkTLS.serialHex(certificate)), valid to \(certificate.notValidAfter)): \(target)")
                print("next, on the device: microturn provision --install \(target) --ca \(LinkTLS.Files.server(in: ca.directory).ca)")
            }
        }
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Provision a device folder on this machine in one step (a flashing station).",
            discussion: "Makes the device's key and request in --device-dir, signs it, and installs the certificate and ca.pem there.")
        @OptionGroup var folder: Folder
        @Option(name: .customLong("device-dir"), help: "The device's link folder (its link.directory).") var deviceDirectory: String
        @Option(name: .customLong("device-id"), help: "The device's id (its link.device_id).") var deviceId: String
        @Option(help: "Days the certificate is valid.") var days = 365

        func run() async throws {
            try await withServerExitCodes {
                let certificate = try FleetCA(directory: folder.directory).enroll(deviceDirectory: deviceDirectory, deviceId: deviceId, days: days)
                print("device '\(deviceId)' provisioned in \(deviceDirectory) (serial \(LinkTLS.serialHex(certificate)), valid to \(certificate.notValidAfter))")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a certificate by serial, or every certificate of a device by its id.")
        @OptionGroup var folder: Folder
        @Argument(help: "A serial (hex, from `ca list`) or a device id.") var serialOrDevice: String

        func run() async throws {
            try await withServerExitCodes {
                let revoked = try FleetCA(directory: folder.directory).revoke(serialOrDevice)
                print(revoked.isEmpty ? "already revoked: nothing changed" : "revoked \(revoked.joined(separator: ", ")); the server refuses them from the next connection")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the certificates the CA issued, and which are revoked.")
        @OptionGroup var folder: Folder
        @Flag(help: "One JSON object per certificate.") var json = false

        func run() async throws {
            try await withServerExitCodes {
                let ca = try FleetCA(directory: folder.directory)
                let revoked = ca.revokedSerials()
                for c in ca.issued() {
                    if json {
                        let object: [String: Any] = ["serial": c.serial, "device": c.deviceId, "not_after": c.notAfter, "revoked": revoked.contains(c.serial)]
                        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                        print(String(decoding: data, as: UTF8.self))
                    } else {
                        print("\(c.serial)  \(c.deviceId)  valid to \(c.notAfter)\(revoked.contains(c.serial) ? "  REVOKED" : "")")
                    }
                }
            }
        }
    }
}
