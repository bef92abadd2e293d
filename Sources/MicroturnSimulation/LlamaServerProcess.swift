import Foundation
import Glibc

/// llama-cpp-python's OpenAI-compatible server on loopback (`python3 -m llama_cpp.server`, with the
/// chat format that can call functions), the peer the server's reasoning is tested and benchmarked
/// against. Ready when its port takes connections (it loads the model first); stopped when released.
public final class LlamaServerProcess {
    public let port = ServerProcess.freePort()
    private let process = Process()
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    public init(model: String, threads: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", "\(port)",
                             "--chat_format", "chatml-function-calling", "--n_ctx", "2048", "--n_threads", "\(threads)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !ServerProcess.accepts(port: port) {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw ServerProcessError.peerNotReady("llama-cpp-python's server", "it did not listen within 120 s; tools/setup.sh --tests installs it")
            }
            usleep(50_000)
        }
    }

    deinit { stop() }

    /// SIGTERM, then SIGKILL if it is still there after 5 s (uvicorn can wait on open keep-alive
    /// connections).
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
