import Foundation
import MicroturnCore
import Glibc
import MicroturnAudio

/// Runs a program to completion and reads what the kernel counted for it alone (wait4's rusage):
/// CPU time and peak RSS, so a benchmark's figures are not mixed with its own.
public struct ChildProcess {
    public var status: Int32
    public var output: String
    public var cpuSeconds: Double
    public var wallSeconds: Double
    public var peakRSSMB: Double

    /// This executable, for runs of its own subcommands.
    public static var microturn: String { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path }

    /// Runs `executable` (searched on PATH when it has no slash) with `arguments`; stdout is kept
    /// when `captureOutput`, else discarded; stderr passes through.
    public static func run(_ executable: String, _ arguments: [String], captureOutput: Bool = false) throws -> ChildProcess {
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("microturn-child-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outFile) }
        var pid: pid_t = 0
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, captureOutput ? outFile : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let start = MonotonicClock.now()
        let spawned = executable.contains("/") ? posix_spawn(&pid, executable, &actions, nil, argv, environ)
            : posix_spawnp(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw AudioError.fileIO(path: executable, reason: "cannot start it (\(String(cString: strerror(spawned))))") }
        var status: Int32 = 0
        var usage = rusage()
        wait4(pid, &status, 0, &usage)
        let wall = Double(MonotonicClock.now() - start) / 1e9
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let output = captureOutput ? (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "" : ""
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ChildProcess(status: exit, output: output, cpuSeconds: cpu, wallSeconds: wall, peakRSSMB: Double(usage.ru_maxrss) / 1024)
    }
}
