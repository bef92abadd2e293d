import Foundation
import MicroturnCore

/// Where a session's events go: an events.jsonl file (one line written as each event happens, so
/// nothing is lost if the process dies) and the terminal (a timeline, or JSON lines with --json).
final class EventOutput {
    private let file: FileHandle?
    private let json: Bool
    private let quiet: Bool

    init(eventsPath: String?, json: Bool, quiet: Bool = false) throws {
        self.json = json
        self.quiet = quiet
        if let eventsPath {
            guard FileManager.default.createFile(atPath: eventsPath, contents: nil),
                  let handle = FileHandle(forWritingAtPath: eventsPath) else {
                throw UsageError(message: "cannot write the events file \(eventsPath): check the folder exists and is writable")
            }
            file = handle
        } else {
            file = nil
        }
    }

    deinit { try? file?.close() }

    func write(_ event: Event) {
        let line = event.jsonLine + "\n"
        file?.write(Data(line.utf8))
        guard !quiet else { return }
        if json { FileHandle.standardOutput.write(Data(line.utf8)); return }
        print(Self.timelineLine(event))
    }

    static func timelineLine(_ e: Event) -> String {
        var line = String(format: "%8.3f s  %-15@", e.time, e.kind.rawValue as NSString)
        if let text = e.text { line += " \"\(text)\"" }
        if let latency = e.latency {
            line += e.kind == .playbackStop ? String(format: " stop latency %.0f ms", latency * 1000)
                : String(format: " turn latency %.0f ms", latency * 1000)
        }
        if let detail = e.detail { line += "  (\(detail))" }
        return line
    }
}
