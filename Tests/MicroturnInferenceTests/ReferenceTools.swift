import Foundation
import Testing
import TestSupport

/// The tools/ scripts the engine's tests get their reference data from (gguf-py, llama.cpp),
/// run from the repository, and temporary files for what they write.
enum ReferenceTools {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs a tools/ script (Python unless `interpreter` says otherwise); a missing Python package
    /// is a failure that says how to install it.
    static func tool(_ arguments: [String], stdout: Bool = false, interpreter: String = "python3") throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [interpreter] + arguments
        p.currentDirectoryURL = repository
        let out = Pipe(), err = Pipe()
        p.standardOutput = stdout ? out : FileHandle.nullDevice
        p.standardError = err
        try p.run()
        // The tools print little: read stdout, then stderr.
        let o = stdout ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// The real model (SmolLM2-135M-Instruct, Q4_1 as published), fetched by tools/fetch-model.sh,
    /// which tools/setup.sh --tests runs.
    static func smolLM2() throws -> String {
        let path = repository.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is missing: run tools/fetch-model.sh")
        return path
    }

    /// A path in the temporary folder that no other test uses.
    static func temp(_ name: String) -> String {
        Scratch.directory.appendingPathComponent("mt-ref-\(UUID().uuidString)-\(name)").path
    }

    /// Runs a tools/ script that must succeed; returns what it said on stderr.
    static func run(_ arguments: [String]) throws -> String {
        let r = try tool(arguments)
        try #require(r.status == 0, "\(arguments.first ?? "") failed (tools/setup.sh --tests builds llama-cpp-python): \(r.err)")
        return r.err
    }
}
