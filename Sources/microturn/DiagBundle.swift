import Foundation
import MicroturnCore

/// `microturn diag --bundle`: what support needs in one archive: the findings, the versions of
/// everything involved, the config with its secrets taken out, and the unit's recent journal.
enum DiagBundle {
    static func write(to path: String, report: Data, configPath: String, board: String, unit: String) throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-bundle-\(UUID().uuidString)")
        let folder = work.appendingPathComponent("microturn-diag")
        defer { try? FileManager.default.removeItem(at: work) }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try report.write(to: folder.appendingPathComponent("diag.json"))
            try versions().write(to: folder.appendingPathComponent("versions.txt"), atomically: true, encoding: .utf8)
            let config = (try? String(contentsOfFile: configPath, encoding: .utf8)).map(redact) ?? "# no config file at \(configPath): built-in defaults\n"
            try ("# \(configPath) (secrets redacted); board profile: \(board)\n" + config)
                .write(to: folder.appendingPathComponent("config.toml"), atomically: true, encoding: .utf8)
            let journal = (try? Shell.run(["journalctl", "-u", unit, "-n", "2000", "--no-pager", "-o", "short-iso"]))
                .map { $0.status == 0 ? $0.text : "journalctl failed (\($0.status)): \($0.text)" } ?? "no journalctl on this system\n"
            try journal.write(to: folder.appendingPathComponent("journal.txt"), atomically: true, encoding: .utf8)
        } catch {
            throw UsageError(message: "cannot assemble the bundle in \(work.path): \(error)")
        }
        let tar = try Shell.run(["tar", "-czf", path, "-C", work.path, "microturn-diag"])
        guard tar.status == 0 else { throw BundleError(message: "cannot write \(path): \(tar.text.trimmingCharacters(in: .whitespacesAndNewlines))") }
    }

    struct BundleError: Error, CustomStringConvertible { var message: String; var description: String { message } }

    /// Values of keys that look like secrets (api_key, token, password, secret) become "<redacted>".
    static func redact(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let eq = line.firstIndex(of: "=") else { return String(line) }
            let key = line[..<eq].lowercased()
            let secret = ["key", "token", "password", "secret", "credential"].contains { key.contains($0) } && !key.contains("api_key_env")
            return secret ? "\(line[..<eq])= \"<redacted>\"" : String(line)
        }.joined(separator: "\n")
    }

    static func versions() -> String {
        var lines = ["microturn \(MicroturnVersion.string)"]
        if let u = try? Shell.run(["uname", "-a"]) { lines.append(u.text.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if let os = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
           let pretty = os.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") }) {
            lines.append(String(pretty))
        }
        let packages = ["microturn", "libasound2", "libspeexdsp1", "libespeak-ng1", "espeak-ng-data", "libpocketsphinx3",
                        "pocketsphinx-en-us", "libopus0", "libv4l-0", "libsqlite3-0", "systemd", "linux-image-" + (uname() ?? "")]
        if let q = try? Shell.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"] + packages) { lines.append(q.text.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func uname() -> String? {
        var u = utsname()
        guard Glibc.uname(&u) == 0 else { return nil }
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
