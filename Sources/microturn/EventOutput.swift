import Foundation
import MicroturnCore

/// Where a session's events go: an events.jsonl file (one line written as each event happens, so
/// nothing is lost if the process dies) and the terminal (a timeline, or JSON lines with --json).
/// Writes go through write(2), not FileHandle (whose write traps on Linux when the disk is full
/// or the pipe is closed): a failed write is counted, said once on stderr, and the session goes on.
/// The file rotates by size: past `rotateBytes` it becomes NAME.1 (one older file kept) and a new
/// one starts, so months of events never fill a board's disk.
final class EventOutput {
    private let path: String?
    private var fd: Int32 = -1
    private var fileBytes = 0
    private let rotateBytes: Int
    private let json: Bool
    private let quiet: Bool
    /// Lines that could not be written, per destination.
    private(set) var lostToFile = 0, lostToTerminal = 0

    init(eventsPath: String?, json: Bool, quiet: Bool = false, rotateBytes: Int = 64 << 20) throws {
        self.json = json
        self.quiet = quiet
        self.rotateBytes = rotateBytes
        path = eventsPath
        // A reader that goes away (`microturn run --json | head`) is EPIPE from write, not a kill.
        signal(SIGPIPE, SIG_IGN)
        if let eventsPath {
            fd = open(eventsPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw UsageError(message: "cannot write the events file \(eventsPath): \(String(cString: strerror(errno))); check the folder exists and is writable")
            }
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    func write(_ event: Event) {
        let line = event.jsonLine + "\n"
        if path != nil { writeToFile(line) }
        guard !quiet else { return }
        let shown = json ? line : Self.timelineLine(event) + "\n"
        fflush(nil)  // what print() buffered comes first
        if !Self.writeAll(STDOUT_FILENO, shown) {
            lostToTerminal += 1
            if lostToTerminal == 1 { Self.warn("cannot write events to the terminal (\(String(cString: strerror(errno)))); the events file, if any, still has them") }
        }
    }

    private func writeToFile(_ line: String) {
        guard let path, fd >= 0 else { lostToFile += 1; return }
        if fileBytes + line.utf8.count > rotateBytes, fileBytes > 0 {
            close(fd)
            rename(path, path + ".1")
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            fileBytes = 0
            guard fd >= 0 else {
                lostToFile += 1
                Self.warn("cannot reopen the events file \(path) after rotating it: \(String(cString: strerror(errno))); events go to the terminal only")
                return
            }
        }
        if Self.writeAll(fd, line) {
            fileBytes += line.utf8.count
            if lostToFile > 0 {
                Self.warn("the events file \(path) is written again; \(lostToFile) events were lost")
                lostToFile = 0
            }
        } else {
            lostToFile += 1
            if lostToFile == 1 { Self.warn("cannot write the events file \(path): \(String(cString: strerror(errno))) (disk full?); counting what is lost") }
        }
    }

    /// The whole of `text`, retrying short writes and interruptions; false on an error.
    static func writeAll(_ fd: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            bytes = bytes.dropFirst(n)
        }
        return true
    }

    private static func warn(_ message: String) { _ = writeAll(STDERR_FILENO, "microturn: \(message)\n") }

    static func timelineLine(_ e: Event) -> String {
        var line = String(format: "%8.3f s  %-15@", e.time, e.kind.rawValue as NSString)
        if let text = e.text { line += " \"\(text)\"" }
        if let latency = e.latency {
            let what = e.kind == .playbackStop ? "stop" : "turn"
            line += e.kind == .duck ? String(format: " heard %.0f ms after the user began", latency * 1000)
                : String(format: " \(what) latency %.0f ms", latency * 1000)
        }
        if let detail = e.detail { line += "  (\(detail))" }
        return line
    }
}
