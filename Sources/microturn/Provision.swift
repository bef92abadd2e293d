import ArgumentParser
import Foundation
import MicroturnLink

/// `microturn provision`: this device's identity on the link, in two steps.
struct Provision: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give this device its key and certificate for the link to microturn-server.",
        discussion: """
        1. microturn provision --device-id kiosk-12
           makes the device's key (once; it never leaves the device) and a request, device.csr,
           in the link folder (link.directory, /var/lib/microturn/link by default).
        2. The fleet's operator signs it: microturn-server ca sign --dir CA device.csr
        3. microturn provision --install device.pem --ca ca.pem
           checks that the certificate is for this device's key, signed by that CA and in date,
           and installs both. Set link.server (and link.device_id) in the config, and run.
        On a machine that holds the CA, `microturn-server ca enroll` does all three at once.
        """)

    @OptionGroup var source: SettingsSource
    @Option(name: .customLong("dir"), help: "The link folder (default: link.directory from the config).") var directory: String?
    @Option(name: .customLong("device-id"), help: "The device's id (default: link.device_id, else the host name).") var deviceId: String?
    @Option(help: "Install this signed certificate (PEM) instead of making a request.") var install: String?
    @Option(help: "The fleet CA's certificate (ca.pem) that signed it; with --install.") var ca: String?

    func validate() throws {
        if install != nil, ca == nil { throw ValidationError("--install needs --ca: the fleet CA's certificate (ca.pem from the operator)") }
        if ca != nil, install == nil { throw ValidationError("--ca goes with --install CERT") }
    }

    func run() throws {
        try withExitCodes {
            let config = try source.load()
            let dir = directory ?? config.link.directory
            if let install, let ca {
                let certificate = try DeviceProvisioning.install(certificate: install, ca: ca, directory: dir)
                print("installed the certificate of '\(LinkTLS.commonName(certificate) ?? "?")' (valid to \(certificate.notValidAfter)) and the fleet CA in \(dir)")
                return
            }
            let id = deviceId ?? (config.link.deviceId.isEmpty ? ProcessInfo.processInfo.hostName : config.link.deviceId)
            let (request, newKey) = try DeviceProvisioning.request(directory: dir, deviceId: id)
            print("\(newKey ? "made a new key" : "kept the existing key") in \(DeviceProvisioning.keyPath(dir))")
            print("request for device '\(id)': \(request)")
            print("next: have the fleet's operator sign it (microturn-server ca sign --dir CA \(request)),")
            print("      then: microturn provision --dir \(dir) --install device.pem --ca ca.pem")
        }
    }
}
