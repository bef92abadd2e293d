import Foundation
import MicroturnAudio

/// A folder of labelled dialogs: NAME.wav + NAME.json pairs, as `bench make-dialogs` writes them.
enum DialogFolder {
    static func names(in folder: String) throws -> [String] {
        let files: [String]
        do { files = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw AudioError.fileIO(path: folder, reason: "cannot list the dialogs folder; make one with tools/make-dialogs.sh")
        }
        let names = files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
            .filter { files.contains("\($0).wav") }.sorted()
        guard !names.isEmpty else {
            throw AudioError.fileIO(path: folder, reason: "no NAME.wav + NAME.json pairs; make them with tools/make-dialogs.sh")
        }
        return names
    }
}
