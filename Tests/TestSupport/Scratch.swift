import Foundation

/// Where the tests write their files: one folder for the test process in the system's temporary
/// folder, removed when the process exits, so that what a test makes and does not remove itself
/// goes too. (Each test named its own files in /tmp and most left them: some 300 MB a run.)
public enum Scratch {
    public static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-tests-\(getpid())")
        // Others may pass through it: a test's PostgreSQL runs as the postgres user in a folder of its own.
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        atexit { try? FileManager.default.removeItem(at: Scratch.directory) }
        return url
    }()
}

/// A test's files, in a folder of its own that goes with the test (each test has its own suite
/// value, so a suite that holds one gives each of its tests a folder).
public final class ScratchFolder: Sendable {
    public let path = Scratch.directory.appendingPathComponent(UUID().uuidString).path

    public init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A file named `name` in the folder, holding `contents`.
    public func file(_ name: String, _ contents: String) -> String {
        let file = "\(path)/\(name)"
        _ = FileManager.default.createFile(atPath: file, contents: Data(contents.utf8))
        return file
    }
}
