import Foundation
import Testing
import TestSupport

/// boards/*.toml through `microturn boards`: every profile loads, says every fact a profile must
/// give and is consistent; a profile that does not is refused with what it lacks.
@Suite(.ownThreads) struct BoardProfileTests {
    let scratch = ScratchFolder()
    static let boards = CommandLineTests.repository.appendingPathComponent("boards").path
    static let expected = ["generic-x86_64", "imx8mp-evk", "jetson-orin-nano", "orangepi5", "qemu-virt", "rock5b", "rpi4", "rpi5"]

    @Test func everyProfileLoadsAndIsListed() throws {
        let listed = try CommandLineTests.run(["boards", "list", "--json"], environment: ["MICROTURN_BOARDS": Self.boards])
        #expect(listed.status == 0, "\(listed.err)")
        let rows = listed.out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let names = rows.compactMap { $0["name"] as? String }
        for name in Self.expected { #expect(names.contains(name), "boards list lacks \(name)") }
        for row in rows {
            #expect(row["error"] == nil, "\(row["name"] ?? "?"): \(row["error"] ?? "")")
            #expect(["aarch64", "x86_64"].contains(row["architecture"] as? String ?? ""))
        }
        for name in Self.expected {
            let shown = try CommandLineTests.run(["boards", "show", "\(Self.boards)/\(name).toml", "--json"])
            #expect(shown.status == 0, "\(name): \(shown.err)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.out.utf8)) as? [String: Any])
            let settings = try #require(object["settings"] as? [String: Any])
            // The profile's own name is the one it is chosen by.
            #expect(settings["board.name"] as? String == name)
            let capture = settings["audio.capture_device"] as? String ?? ""
            #expect(capture == "default" || capture.contains("CARD="), "\(name): capture by card id, not number: \(capture)")
            let threads = settings["board.threads"] as? Int ?? 0, cores = settings["board.cores"] as? Int ?? 0
            #expect(threads >= 1 && threads <= cores)
            #expect((settings["board.memory_max_mb"] as? Int ?? 0) > 0, "\(name) gives the unit no memory limit")
        }
    }

    @Test func anIncompleteProfileIsRefusedWithWhatItLacks() throws {
        let path = scratch.file("half.toml", """
            [board]
            name = "half"
            description = "a profile that forgot most of it"
            threads = 2
            """)
        let r = try CommandLineTests.run(["boards", "show", path])
        #expect(r.status == 78)
        #expect(r.err.contains("must also set") && r.err.contains("board.architecture") && r.err.contains("audio.capture_device"), "\(r.err)")
        // The same check applies where a session loads it.
        let run = try CommandLineTests.run(["run", "--board", path, "--duration", "1"])
        #expect(run.status == 78 && run.err.contains("must also set"), "\(run.err)")
    }

    @Test func aProfileThatContradictsItselfSaysWhy() throws {
        var text = try String(contentsOfFile: "\(Self.boards)/rpi5.toml", encoding: .utf8)
        text = text.replacingOccurrences(of: "threads = 3", with: "threads = 6")
        let r = try CommandLineTests.run(["boards", "show", scratch.file("rpi5-six.toml", text)])
        #expect(r.status == 78)
        #expect(r.err.contains("board.threads") && r.err.contains("4 cores"), "\(r.err)")
    }
}
