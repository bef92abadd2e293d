import Foundation

/// A text file named by a flag, read whole as UTF-8, with errors that name the flag.
enum TextFile {
    static func read(_ path: String, flag: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw UsageError(message: "\(flag) \(path): cannot read it (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw UsageError(message: "\(flag) \(path): not UTF-8 text") }
        return text
    }
}
