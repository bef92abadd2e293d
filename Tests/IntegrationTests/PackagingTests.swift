import Foundation
import Testing
import TestSupport

/// The integrator's kit: the systemd units as systemd-analyze judges them, the rootfs installer
/// into a folder, and the .debs installed, enabled and removed on this machine with dpkg.
@Suite(.ownThreads) struct PackagingTests {
    let scratch = ScratchFolder()
    static let repository = CommandLineTests.repository.path
    static let binaries = URL(fileURLWithPath: CommandLineTests.binary).deletingLastPathComponent().path

    /// `command` from the repository's folder, to its end.
    static func sh(_ command: [String]) throws -> (status: Int32, out: String, err: String) { try VirtualBoardTests.run(command) }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Both units pass `systemd-analyze verify` (pointed at this build's binaries) and are
    /// sandboxed to an exposure of at most 2.5 by `systemd-analyze security`.
    @Test(arguments: ["microturn", "microturn-server"])
    func theUnitsVerifyAndAreSandboxed(unit: String) throws {
        let text = Self.read("\(Self.repository)/systemd/\(unit).service")
            .replacingOccurrences(of: "ExecStart=/usr/bin/\(unit) ", with: "ExecStart=\(Self.binaries)/\(unit) ")
        let file = scratch.file("\(unit).service", text)
        let verify = try Self.sh(["systemd-analyze", "verify", file])
        #expect(verify.status == 0 && verify.err.isEmpty, "systemd-analyze verify \(unit).service: \(verify.err)")
        let security = try Self.sh(["systemd-analyze", "security", "--offline=true", file])
        let line = try #require(security.out.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(security)")
        let score = try #require(line.split(separator: ":").last.flatMap { Double($0.split(separator: " ").first ?? "") }, "\(line)")
        print("\(unit).service: systemd-analyze security exposure \(score)")
        #expect(score <= 2.5, "\(line)")
    }

    @Test func theRootfsInstallerPutsTheBoardsUnitUsersAndLimitsInPlace() throws {
        let root = "\(scratch.path)/rootfs"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let r = try Self.sh(["tools/install-rootfs.sh", "--board", "generic-x86_64", "--root", root,
                             "--binary", "\(Self.binaries)/microturn", "--server", "--server-binary", "\(Self.binaries)/microturn-server"])
        #expect(r.status == 0, "\(r.err)")
        for file in ["usr/bin/microturn", "usr/bin/microturn-server", "usr/share/microturn/boards/rpi5.toml",
                     "usr/lib/systemd/system/microturn.service", "usr/lib/sysusers.d/microturn.conf", "usr/lib/tmpfiles.d/microturn.conf"] {
            #expect(FileManager.default.fileExists(atPath: "\(root)/\(file)"), "\(file) missing")
        }
        // Enabled: a link that points into the image's own /usr (not followed on this machine).
        for unit in ["microturn.service", "microturn-server.service"] {
            let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/etc/systemd/system/multi-user.target.wants/\(unit)")
            #expect(link == "/usr/lib/systemd/system/\(unit)", "\(unit) not enabled: \(link ?? "no link")")
        }
        #expect(Self.read("\(root)/etc/microturn/microturn.toml").contains("board_profile = \"generic-x86_64\""))
        let dropIn = Self.read("\(root)/etc/systemd/system/microturn.service.d/board.conf")
        #expect(dropIn.contains("MemoryHigh=512M") && dropIn.contains("MemoryMax=1024M"), "\(dropIn)")
        #expect(Self.read("\(root)/etc/passwd").contains("microturn:x:"))
        let groups = Self.read("\(root)/etc/group").split(separator: "\n")
        #expect(groups.contains { $0.hasPrefix("audio:") && $0.hasSuffix("microturn") }, "\(groups)")
        // The installed binary is stripped and still runs: it lists the profiles it was given.
        let listed = try Self.sh(["\(root)/usr/bin/microturn", "boards", "list"])
        #expect(listed.out.contains("rpi5"), "\(listed)")

        // An integrator's config survives a second install; a board of another architecture is refused.
        try "board_profile = \"generic-x86_64\"\n# mine\n".write(toFile: "\(root)/etc/microturn/microturn.toml", atomically: true, encoding: .utf8)
        _ = try Self.sh(["tools/install-rootfs.sh", "--board", "generic-x86_64", "--root", root, "--binary", "\(Self.binaries)/microturn"])
        #expect(Self.read("\(root)/etc/microturn/microturn.toml").contains("# mine"))
        let arm = try Self.sh(["tools/install-rootfs.sh", "--board", "rpi5", "--root", root, "--binary", "\(Self.binaries)/microturn"])
        #expect(arm.status == 65 && arm.err.contains("arm64"), "\(arm.err)")
        let none = try Self.sh(["tools/install-rootfs.sh", "--board", "no-such-board", "--root", root])
        #expect(none.status == 66 && none.err.contains("rpi5"), "\(none.err)")
    }

    /// The .debs on this machine: installed (user made, unit enabled), removed (binary and unit
    /// link gone, config kept), purged (config gone). dpkg needs root; elsewhere this is skipped.
    @Test(.enabled(if: getuid() == 0, "dpkg -i needs root"))
    func theDebsInstallEnableAndRemoveCleanly() throws {
        let out = "\(scratch.path)/deb"
        let built = try Self.sh(["tools/package-deb.sh", "--bin-dir", Self.binaries, "--out", out, "--version", "0.0.1~test", "--no-model"])
        #expect(built.status == 0, "\(built.err)")
        for (package, unit, config) in [("microturn", "microturn.service", "/etc/microturn/microturn.toml"),
                                        ("microturn-server", "microturn-server.service", "/etc/microturn-server/server.toml")] {
            let deb = try #require(try FileManager.default.contentsOfDirectory(atPath: out).first { $0.hasPrefix("\(package)_") })
            let wants = "/etc/systemd/system/multi-user.target.wants/\(unit)"
            defer { _ = try? Self.sh(["dpkg", "--purge", package]) }
            let install = try Self.sh(["dpkg", "-i", "\(out)/\(deb)"])
            #expect(install.status == 0, "\(install.err)")
            #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/\(package)"))
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: wants)) != nil, "\(unit) not enabled")
            #expect(try Self.sh(["id", package]).status == 0, "no user \(package)")
            #expect(FileManager.default.fileExists(atPath: config))
            let remove = try Self.sh(["dpkg", "--remove", package])
            #expect(remove.status == 0, "\(remove.err)")
            #expect(!FileManager.default.fileExists(atPath: "/usr/bin/\(package)"))
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: wants)) == nil, "\(unit) still enabled")
            #expect(FileManager.default.fileExists(atPath: config), "a removal keeps the config")
            let purge = try Self.sh(["dpkg", "--purge", package])
            #expect(purge.status == 0 && !FileManager.default.fileExists(atPath: config), "\(purge.err)")
        }
    }
}
