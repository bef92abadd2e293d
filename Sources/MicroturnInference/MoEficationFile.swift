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
/// quantizer (the same block layout), Q4_1 by its block's range.
public enum RowEncoding {
    /// The types `encode` writes.
    public static let types: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0, .q4_1]

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
        case .q4_1: return q4_1(row)
        default: preconditionFailure("rows are written as F32, F16, BF16, Q8_0 or Q4_1, not \(type.name)")
        }
    }

    /// Q4_1 blocks of 32: the scale d and the minimum m as F16, then 16 bytes whose low nibbles are
    /// values 0-15 and high nibbles values 16-31, each x = d * q + m. The values are rounded against
    /// the F16 d and m the reader will use, so the rounding of those adds no error of its own.
    static func q4_1(_ row: [Float]) -> [UInt8] {
        precondition(row.count % 32 == 0, "Q4_1 rows are whole blocks of 32")
        var out: [UInt8] = []
        out.reserveCapacity(row.count / 32 * 20)
        for b in stride(from: 0, to: row.count, by: 32) {
            let block = row[b..<(b + 32)]
            let low = Float16(block.min()!), high = block.max()!
            let d = Float16((high - Float(low)) / 15)
            let inverse = d == 0 ? 0 : 1 / Float(d)
            let q = block.map { UInt8(max(0, min(15, (($0 - Float(low)) * inverse).rounded()))) }
            withUnsafeBytes(of: d.bitPattern.littleEndian) { out += $0 }
            withUnsafeBytes(of: low.bitPattern.littleEndian) { out += $0 }
            for j in 0..<16 { out.append(q[j] | (q[j + 16] << 4)) }
        }
        return out
    }
}
