import Crypto
import Foundation
import MicroturnInference

/// `microturn diag` on a local model file: its checksum, how long it takes to load, and its speed.
enum DiagModel {
    static func checks(path: String?, threads: Int) -> [DiagCheck] {
        guard let path else { return [.skipped("model", "no model given (pass --model FILE.gguf to check one)")] }
        var out: [DiagCheck] = []
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return [.fail("model.file", "\(path) cannot be opened", hint: "check the path and that the service's user may read it")]
        }
        var hash = SHA256()
        var bytes = 0
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hash.update(data: chunk)
            bytes += chunk.count
        }
        try? handle.close()
        let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
        out.append(.pass("model.file", "\(path): \(bytes) bytes, SHA-256 \(digest)", [("bytes", Double(bytes))]))
        let start = Date()
        let generator: Generator
        do {
            let file = try GGUFFile(path: path)
            generator = Generator(transformer: try Transformer(file: file, threads: threads, kvCache: .f16), tokenizer: try Tokenizer(file: file),
                                  template: try? ChatTemplate(file: file))
        } catch {
            out.append(.fail("model.load", "\(error)", hint: "the file is damaged or not a model this engine runs: fetch it again (compare the SHA-256 above)"))
            return out
        }
        let loadSeconds = Date().timeIntervalSince(start)
        out.append(.pass("model.load", String(format: "loaded in %.2f s", loadSeconds), [("load_seconds", loadSeconds)]))
        var options = Generator.Options()
        options.budget = 32
        let reply: Generator.Reply
        do { reply = try generator.generate(prompt: generator.textPrompt("The museum opens at"), options: options) } catch {
            out.append(.fail("model.speed", "generation failed: \(error)", hint: "the model loads but does not run: report it with the bundle"))
            return out
        }
        // Decode speed: the tokens after the first, over the time after the first.
        let decoded = max(0, reply.tokens.count - 1)
        let rate = Double(decoded) / max(1e-6, reply.seconds - reply.secondsToFirstToken)
        out.append(.pass("model.speed", String(format: "%.1f tokens/s decoding on %d threads (%d tokens; first after %.2f s)", rate, threads, reply.tokens.count, reply.secondsToFirstToken),
                         [("tokens_per_second", rate), ("first_token_seconds", reply.secondsToFirstToken), ("threads", Double(threads))]))
        return out
    }
}
