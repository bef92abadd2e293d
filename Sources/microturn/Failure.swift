import ArgumentParser
import Foundation
import MicroturnAudio
import MicroturnCore
import MicroturnInference
import MicroturnLink
import MicroturnSimulation
import MicroturnVision

/// Turns an error into its message on stderr and the sysexits code that says what kind it was.
enum Failure {
    static func exit(for error: Error) -> ExitCode {
        let code: Int32
        switch error {
        case let e as ConfigError:
            code = 78
            report(e.description)
        case let e as AudioError:
            switch e {
            case .badWav: code = 65
            case .fileIO: code = 74
            case .alsa, .noUsableFormat: code = 69
            case .speech, .dsp: code = 69
            }
            report(e.description)
        case let e as GGUFError:
            if case .cannotOpen = e { code = 66 } else { code = 65 }
            report(e.description)
        case let e as VisionError:
            switch e {
            case .cannotOpen: code = 66
            case .cannotWrite: code = 73
            case .cameraUnavailable, .cameraLost, .cameraStalled: code = 69
            case .badHeader, .badFrame, .truncatedFrame: code = 65
            }
            report(e.description)
        case let e as LinkSetupError:
            code = e.sysexitsCode
            report(e.description)
        case let e as LinkWaitError:
            code = 69
            report(e.message)
        case let e as ChatTemplateError:
            code = 65
            report(e.description)
        case let e as Generator.Failure:
            if case .noTemplate = e { code = 65 } else { code = 64 }
            report(e.description)
        case let e as Perplexity.Failure:
            code = 65
            report(e.description)
        case let e as ExpertSubset.Failure:
            code = 64
            report(e.description)
        case let e as WordsTurnEnd.Failure:
            code = 65
            report(e.description)
        case let e as ExpertProfile.Mismatch:
            code = 65
            report(e.description)
        case let e as MoEfication.Failure:
            code = e.usage ? 64 : 65
            report(e.description)
        case let e as CocoaError where e.code == .fileWriteNoPermission || e.code == .fileWriteOutOfSpace || e.code == .fileWriteUnknown:
            code = 73
            report("cannot write \(e.userInfo[NSFilePathErrorKey] ?? "the output file"): \(e.localizedDescription)")
        case let e as PipecatPeer.Failure:
            code = e.unavailable ? 69 : 65
            report(e.description)
        case let e as UsageError:
            code = 64
            report(e.message)
        default:
            code = 70
            report("\(error)")
        }
        return ExitCode(code)
    }

    static func report(_ message: String) {
        FileHandle.standardError.write(Data("microturn: \(message)\n".utf8))
    }
}

struct UsageError: Error { var message: String }

/// Runs `body`, mapping any error to its exit code.
func withExitCodes(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode { throw e } catch { throw Failure.exit(for: error) }
}
