import ArgumentParser
import Foundation
import MicroturnCore
import MicroturnInference

struct ModelInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a GGUF model file holds.",
        discussion: """
        Prints the architecture and its hyper-parameters, the tokenizer, every tensor with its type, \
        shape and bytes, the quantization mix (bytes per type) and, for Mixture-of-Experts models, the \
        expert count and the bytes of one expert. The whole file is checked on the way: a damaged or \
        truncated file gets an error naming the key or tensor (exit 65; a file that cannot be opened: 66).

        Example: microturn model inspect granite-moe.Q4_K_M.gguf --json
        """)

    @Argument(help: "The .gguf file.")
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        try withExitCodes {
            let model = try GGUFFile(path: file)
            let summary = ModelSummary(model)
            print(json ? summary.json : summary.text)
        }
    }
}

/// What `model inspect` reports about a file.
struct ModelSummary {
    let model: GGUFFile
    init(_ model: GGUFFile) { self.model = model }

    var architecture: String { model.architecture ?? "unknown" }
    /// The architecture's own keys (`qwen3moe.block_count`, ...).
    var hyperParameters: [(String, GGUFValue)] {
        model.keys.filter { $0.hasPrefix(architecture + ".") }.map { ($0, model.metadata[$0]!) }
    }
    var totalBytes: Int { model.tensors.reduce(0) { $0 + $1.byteCount } }
    /// Bytes and tensor count per type, largest first.
    var mix: [(type: GGMLType, bytes: Int, tensors: Int)] {
        Dictionary(grouping: model.tensors, by: \.type)
            .map { ($0.key, $0.value.reduce(0) { $0 + $1.byteCount }, $0.value.count) }
            .sorted { $0.1 > $1.1 }
    }
    var expertCount: Int? { model.metadata["\(architecture).expert_count"]?.integer }
    /// Bytes of the expert tensors (`*_exps`), all layers.
    var expertBytes: Int { model.tensors.filter { $0.name.contains("_exps") }.reduce(0) { $0 + $1.byteCount } }
    var tokenCount: Int? { model.metadata["tokenizer.ggml.tokens"]?.array?.count }

    static func mb(_ bytes: Int) -> String {
        bytes < 1_048_576 ? String(format: "%.1f KB", Double(bytes) / 1024) : String(format: "%.2f MB", Double(bytes) / 1_048_576)
    }

    var text: String {
        var lines = ["file: \(model.path), GGUF v\(model.version), alignment \(model.alignment), data at byte \(model.dataOffset)",
                     "architecture: \(architecture)" + (model.metadata["general.name"]?.string.map { " (\($0))" } ?? "")]
        lines.append("hyper-parameters:")
        for (k, v) in hyperParameters { lines.append("  \(k) = \(v)") }
        if let tokens = tokenCount {
            lines.append("tokenizer: \(model.metadata["tokenizer.ggml.model"]?.string ?? "?"), \(tokens) tokens"
                         + (model.metadata["tokenizer.ggml.pre"]?.string.map { ", pre-tokenizer \($0)" } ?? ""))
        }
        lines.append("tensors: \(model.tensors.count), \(Self.mb(totalBytes))")
        let total = Double(max(1, totalBytes))
        for m in mix {
            lines.append("  " + m.type.name.padding(toLength: 6, withPad: " ", startingAt: 0)
                         + String(format: " %5.1f %%  ", 100 * Double(m.bytes) / total) + "\(Self.mb(m.bytes)) in \(m.tensors) tensors")
        }
        if let experts = expertCount, experts > 0 {
            let used = model.metadata["\(architecture).expert_used_count"]?.integer
            lines.append("experts: \(experts)" + (used.map { ", \($0) used per token" } ?? "")
                         + "; expert tensors \(Self.mb(expertBytes)), one expert (all layers) \(Self.mb(expertBytes / experts))")
        }
        lines.append("")
        let width = min(48, model.tensors.map(\.name.count).max() ?? 10)
        for t in model.tensors {
            let shape = t.shape.map(String.init).joined(separator: " x ")
            lines.append(t.name.padding(toLength: max(width, t.name.count), withPad: " ", startingAt: 0)
                         + "  " + t.type.name.padding(toLength: 6, withPad: " ", startingAt: 0)
                         + "  " + shape.padding(toLength: 22, withPad: " ", startingAt: 0) + "  \(t.byteCount) bytes")
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        let q = JSONText.quote
        func value(_ v: GGUFValue) -> String {
            switch v {
            case let .uint(x, _): "\(x)"
            case let .int(x, _): "\(x)"
            case let .float(x, _): x.isFinite ? "\(x)" : "null"
            case let .bool(b): "\(b)"
            case let .string(s): q(s)
            case let .array(a): a.count > 64 ? "{\"count\":\(a.count)}" : "[" + a.map(value).joined(separator: ",") + "]"
            }
        }
        let hp = hyperParameters.map { "\(q($0.0)):\(value($0.1))" }.joined(separator: ",")
        let mixJSON = mix.map { "{\"type\":\(q($0.type.name)),\"bytes\":\($0.bytes),\"tensors\":\($0.tensors)}" }.joined(separator: ",")
        let tensors = model.tensors.map {
            "{\"name\":\(q($0.name)),\"type\":\(q($0.type.name)),\"shape\":[\($0.shape.map(String.init).joined(separator: ","))],\"bytes\":\($0.byteCount),\"offset\":\($0.offset)}"
        }.joined(separator: ",")
        var out = "{\"file\":\(q(model.path)),\"version\":\(model.version),\"alignment\":\(model.alignment),"
        out += "\"architecture\":\(q(architecture)),\"hyper_parameters\":{\(hp)},"
        out += "\"tokens\":\(tokenCount.map(String.init) ?? "null"),\"tensor_bytes\":\(totalBytes),\"mix\":[\(mixJSON)],"
        if let e = expertCount, e > 0 { out += "\"experts\":\(e),\"expert_bytes\":\(expertBytes),\"bytes_per_expert\":\(expertBytes / e)," }
        return out + "\"tensors\":[\(tensors)]}"
    }
}
