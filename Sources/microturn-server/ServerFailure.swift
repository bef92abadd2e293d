import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnLink
import MicroturnServer

/// An error as its message on stderr and the sysexits code that says what kind it was.
func serverExit(for error: Error) -> ExitCode {
    let code: Int32
    switch error {
    case is ConfigError: code = 78
    case let e as LinkSetupError: code = e.sysexitsCode
    case let e as ReasoningSetupError: code = e.sysexitsCode
    case is LinkServerError, is AudioError, is TaskStoreError: code = 69
    default: code = 70
    }
    FileHandle.standardError.write(Data("microturn-server: \(error)\n".utf8))
    return ExitCode(code)
}

/// Runs `body`, mapping any error to its exit code.
func withServerExitCodes<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let e as ExitCode { throw e } catch { throw serverExit(for: error) }
}
