import Foundation
import MicroturnLink
import MicroturnServer
import Testing
import X509
import TestSupport

/// The link's mutual TLS with a real server on loopback: devices the fleet's CA provisioned are
/// admitted; an unknown, an expired, a revoked device and one that claims another's id are refused
/// with an error that says which; a device refuses a server its fleet did not certify.
@Suite(.serialized, .ownThreads) struct LinkTLSTests {
    /// Connects `deviceId` with `credentials` and waits until it is up or refused.
    static func connect(_ server: LinkServer, deviceId: String, credentials: LinkTLS.Files) throws -> (up: Bool, error: String?) {
        let client = try LinkClient(options: .init(host: "localhost", port: server.port, deviceId: deviceId, credentials: credentials,
                                                   backoffFirstMs: 10, backoffMaxMs: 50)) { _ in }
        client.start()
        defer { client.stop() }
        LinkLoopbackTests.wait(seconds: 30) { client.isUp || client.lastError != nil }
        return (client.isUp, client.lastError)
    }

    static func server(_ fleet: TestFleet) throws -> LinkServer {
        try LinkServer(host: "localhost", port: 0, security: .tls(caDirectory: fleet.ca.directory), worker: LinkLoopbackTests.echoWorker)
    }

    @Test func refusedDevicesAreToldWhy() throws {
        let fleet = try TestFleet(devices: ["kiosk-1", "kiosk-2"])
        let other = try TestFleet(devices: ["intruder"])
        defer { fleet.remove(); other.remove() }
        let server = try Self.server(fleet)
        defer { server.shutdown() }

        #expect(try Self.connect(server, deviceId: "kiosk-1", credentials: fleet.credentials("kiosk-1")).up)

        // Signed by another fleet's CA (the device trusts ours, so the handshake goes through).
        var unknown = other.credentials("intruder")
        unknown.ca = fleet.credentials("kiosk-1").ca
        let u = try Self.connect(server, deviceId: "intruder", credentials: unknown)
        #expect(!u.up && u.error?.contains("authUnknownDevice") == true, "\(u)")
        #expect(u.error?.contains("not signed by this fleet's CA") == true)

        // Claims to be another device than its certificate says.
        let m = try Self.connect(server, deviceId: "kiosk-2", credentials: fleet.credentials("kiosk-1"))
        #expect(!m.up && m.error?.contains("certificate is for 'kiosk-1'") == true, "\(m)")

        // Expired: signed three days ago for one day.
        let request = try String(contentsOfFile: DeviceProvisioning.requestPath(fleet.directory("kiosk-2")), encoding: .utf8)
        let old = try fleet.ca.sign(requestPEM: request, days: 1, now: Date().addingTimeInterval(-3 * 86_400)).certificate
        var expired = fleet.credentials("kiosk-2")
        expired.certificate = fleet.root + "/expired.pem"
        try DeviceProvisioning.writeAtomically(Data(old.serializeAsPEM().pemString.utf8), to: expired.certificate, mode: 0o644)
        let e = try Self.connect(server, deviceId: "kiosk-2", credentials: expired)
        #expect(!e.up && e.error?.contains("authExpired") == true, "\(e)")

        // Revoked while the server runs: refused at the next connection.
        #expect(try Self.connect(server, deviceId: "kiosk-2", credentials: fleet.credentials("kiosk-2")).up)
        let revoked = try fleet.ca.revoke("kiosk-2")
        #expect(revoked.count == 2, "both of kiosk-2's certificates (the expired one too)")
        let r = try Self.connect(server, deviceId: "kiosk-2", credentials: fleet.credentials("kiosk-2"))
        #expect(!r.up && r.error?.contains("authRevoked") == true, "\(r)")
        #expect(try fleet.ca.revoke("kiosk-2").isEmpty, "revoking again changes nothing")
        #expect(try Self.connect(server, deviceId: "kiosk-1", credentials: fleet.credentials("kiosk-1")).up, "the others are still admitted")
    }

    @Test func aDeviceRefusesAServerItsFleetDidNotCertify() throws {
        let fleet = try TestFleet(devices: ["kiosk-1"])
        let other = try TestFleet(devices: [])
        defer { fleet.remove(); other.remove() }
        let impostor = try Self.server(other)
        defer { impostor.shutdown() }
        let c = try Self.connect(impostor, deviceId: "kiosk-1", credentials: fleet.credentials("kiosk-1"))
        #expect(!c.up && c.error != nil, "\(c)")

        // And a server certified for another name than the one the device dials.
        let elsewhere = try TestFleet(devices: ["kiosk-1"], serverNames: ["link.example.com"])
        defer { elsewhere.remove() }
        let misnamed = try Self.server(elsewhere)
        defer { misnamed.shutdown() }
        let n = try Self.connect(misnamed, deviceId: "kiosk-1", credentials: elsewhere.credentials("kiosk-1"))
        #expect(!n.up && n.error != nil, "\(n)")
    }

    @Test func provisioningChecksWhatItInstalls() throws {
        let fleet = try TestFleet(devices: ["kiosk-1"])
        let other = try TestFleet(devices: [])
        defer { fleet.remove(); other.remove() }
        let dir = fleet.directory("kiosk-1")

        // Asking again keeps the key: the new request is for the same key.
        let before = try String(contentsOfFile: DeviceProvisioning.keyPath(dir), encoding: .utf8)
        #expect(try DeviceProvisioning.request(directory: dir, deviceId: "kiosk-1").newKey == false)
        #expect(try String(contentsOfFile: DeviceProvisioning.keyPath(dir), encoding: .utf8) == before)
        let attributes = try FileManager.default.attributesOfItem(atPath: DeviceProvisioning.keyPath(dir))
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the key is readable by its owner only")

        // A certificate for another device's key, and one from another CA, are refused.
        try fleet.ca.enroll(deviceDirectory: fleet.directory("kiosk-2"), deviceId: "kiosk-2")
        #expect(throws: LinkSetupError.self) {
            try DeviceProvisioning.install(certificate: fleet.credentials("kiosk-2").certificate, ca: fleet.credentials("kiosk-1").ca, directory: dir)
        }
        try other.ca.enroll(deviceDirectory: other.directory("kiosk-1"), deviceId: "kiosk-1")
        #expect(throws: LinkSetupError.self) {
            try DeviceProvisioning.install(certificate: other.credentials("kiosk-1").certificate, ca: fleet.credentials("kiosk-1").ca,
                                           directory: other.directory("kiosk-1"))
        }

        // Bad requests and names; no CA over an existing one.
        #expect(throws: LinkSetupError.self) { try fleet.ca.sign(requestPEM: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", days: 30) }
        #expect(throws: LinkSetupError.self) { try DeviceProvisioning.request(directory: fleet.root + "/x", deviceId: "bad id/../") }
        #expect(throws: LinkSetupError.self) { try FleetCA.create(directory: fleet.ca.directory, name: "again", days: 30, serverNames: ["localhost"]) }
        #expect(throws: LinkSetupError.self) { try fleet.ca.revoke("nobody") }
        #expect(fleet.ca.issued().map(\.deviceId) == ["kiosk-1", "kiosk-2"])
    }
}
