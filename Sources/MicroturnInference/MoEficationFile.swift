import Foundation

extension MoEfication {
    /// The MoE file of a plan: the dense file's metadata and tensors, each layer's ffn_gate,
    /// ffn_up and ffn_down replaced by ffn_gate_inp (the router, F32) and the expert tensors. Gate
    /// and up rows are the dense rows, copied as they are; down columns are gathered, multiplied
    /// by `used` (see the type's comment), and written in the dense type when that is exact
    /// (F32, F16, BF16), else as Q8_0.
    public static func writer(_ file: GGUFFile, _ c: ModelConfig, plans: [LayerPlan], options o: Options,
                              provenance: [(String, GGUFValue)]) throws -> GGUFWriter {
        let arch = c.architecture, ff = plans[0].neurons.count * plans[0].neurons[0].count, size = ff / o.experts
        var w = GGUFWriter()
        w.alignment = file.alignment
        for key in file.keys { w.metadata.append((key, file.metadata[key]!)) }
        w.set("\(arch).expert_count", .uint(UInt64(o.experts), bits: 32))
        w.set("\(arch).expert_used_count", .uint(UInt64(o.used), bits: 32))
        // llama.cpp's llama architecture reads each expert's width from feed_forward_length.
        w.set("\(arch).feed_forward_length", .uint(UInt64(size), bits: 32))
        w.set("\(arch).expert_feed_forward_length", .uint(UInt64(size), bits: 32))
        for (k, v) in provenance { w.set(k, v) }
        w.set(neuronsKey, neuronsValue(plans.map(\.neurons)))
        for t in file.tensors {
            guard let (layer, part) = ffnPart(t.name) else {
                w.tensors.append(GGUFWriter.Tensor(name: t.name, shape: t.shape, type: t.type) { Array(file.data(of: t)) })
                continue
            }
            let plan = plans[layer], b = "blk.\(layer)."
            switch part {
            case "gate", "up":
                if part == "gate" {
                    w.tensors.append(GGUFWriter.Tensor(name: b + "ffn_gate_inp.weight", shape: [c.width, o.experts], type: .f32) {
                        RowEncoding.encode(plan.router, as: .f32)
                    })
                }
                w.tensors.append(GGUFWriter.Tensor(name: b + "ffn_\(part)_exps.weight", shape: [c.width, size, o.experts], type: t.type) {
                    let data = file.data(of: t), rowBytes = t.byteCount / ff
                    var out: [UInt8] = []
                    out.reserveCapacity(t.byteCount)
                    for j in plan.neurons.joined() { out += data[(j * rowBytes)..<((j + 1) * rowBytes)] }
                    return out
                })
            default:
                let type = exactTypes.contains(t.type) ? t.type : .q8_0
                w.tensors.append(GGUFWriter.Tensor(name: b + "ffn_down_exps.weight", shape: [size, c.width, o.experts], type: type) {
                    let down = try denseRows(file, t.name, rows: c.width, cols: ff)
                    var out: [UInt8] = []
                    var row = [Float](repeating: 0, count: size)
                    for members in plan.neurons {
                        for r in 0..<c.width {
                            for (i, j) in members.enumerated() { row[i] = down[r * ff + j] * Float(o.used) }
                            out += RowEncoding.encode(row, as: type)
                        }
                    }
                    return out
                })
            }
        }
        return w
    }

    /// Where an MoE file moefy wrote keeps which dense neurons each expert holds (layers split by
    /// ";", experts by "|", neurons by ","): what a subset's refit maps the dense activations with.
    static let neuronsKey = "microturn.moefy.neurons"

    /// The metadata value of a neuron map (layers x experts x dense neurons).
    static func neuronsValue(_ map: [[[Int]]]) -> GGUFValue {
        .string(map.map { $0.map { $0.map(String.init).joined(separator: ",") }.joined(separator: "|") }.joined(separator: ";"))
    }

    /// The dense neurons of each layer's experts, from a file moefy wrote (nil for another file).
    public static func neurons(of file: GGUFFile, layers: Int, experts: Int) -> [[[Int]]]? {
        guard let text = file.metadata[neuronsKey]?.string else { return nil }
        let map = text.split(separator: ";", omittingEmptySubsequences: false).map { layer in
            layer.split(separator: "|", omittingEmptySubsequences: false).map { $0.split(separator: ",").compactMap { Int($0) } }
        }
        guard map.count == layers, map.allSatisfy({ $0.count == experts && Set($0.map(\.count)).count == 1 }) else { return nil }
        return map
    }

    /// (layer, "gate" | "up" | "down") for a dense feed-forward tensor's name.
    static func ffnPart(_ name: String) -> (Int, String)? {
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), parts[3] == "weight",
              ["ffn_gate", "ffn_up", "ffn_down"].contains(parts[2]) else { return nil }
        return (layer, String(parts[2].dropFirst(4)))
    }
}

/// Float rows written in a tensor type: the exact ones as they are, Q8_0 by the activations'
/// quantizer (the same block layout).
public enum RowEncoding {
    public static func encode(_ row: [Float], as type: GGMLType) -> [UInt8] {
        switch type {
        // (Little-endian machines, as GGUF is.)
        case .f32: return row.withUnsafeBytes { Array($0) }
        case .f16: return row.map { Float16($0) }.withUnsafeBytes { Array($0) }
        // Truncation: exact for what was BF16 before (the rows moefy re-slices).
        case .bf16: return row.map { UInt16($0.bitPattern >> 16) }.withUnsafeBytes { Array($0) }
        case .q8_0:
            var out = [UInt8](repeating: 0, count: row.count / 32 * 34)
            row.withUnsafeBufferPointer { r in out.withUnsafeMutableBytes { QuantizeActivations.q8_0(r.baseAddress!, count: row.count, into: $0.baseAddress!) } }
            return out
        default: preconditionFailure("rows are written as F32, F16, BF16 or Q8_0, not \(type.name)")
        }
    }
}
