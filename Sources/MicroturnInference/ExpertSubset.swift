import Foundation
import MicroturnCore

/// An MoE file cut down to some of its experts (the same number in every layer, as GGUF's expert
/// tensors need): router rows and expert tensors sliced, `expert_count` set to what is kept and
/// `expert_used_count` capped by it. A file moefy made has its experts' down projections scaled by
/// the used count (see MoEfication); when the cap lowers it, they are scaled to match.
public enum ExpertSubset {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What a file's weights take: the expert tensors, everything else, and one expert of every
    /// layer as a subset writes it (what each kept expert per layer costs: with `downType`, its
    /// down projections in that type, as a regrouped subset writes them).
    public struct Sizes: Sendable {
        public let experts: Int
        public let expertBytes: Int
        public let otherBytes: Int
        public let bytesPerExpert: Int

        public init(_ file: GGUFFile, experts: Int, downType: GGMLType? = nil) {
            self.experts = experts
            let tensors = file.tensors.filter { $0.name.contains("_exps.") }
            expertBytes = tensors.reduce(0) { $0 + $1.byteCount }
            otherBytes = file.tensors.reduce(0) { $0 + $1.byteCount } - expertBytes
            let written = tensors.reduce(0) { sum, t in
                guard let downType, t.name.contains("ffn_down_exps.") else { return sum + t.byteCount }
                return sum + t.shape.reduce(1, *) / downType.block.size * downType.block.bytes
            }
            bytesPerExpert = written / max(1, experts)
        }

        /// Experts per layer that fit `budget` bytes of weights.
        public func keepable(within budget: Int) throws(Failure) -> Int {
            let room = budget - otherBytes
            guard room >= bytesPerExpert else {
                throw Failure(description: String(format: "a budget of %.1f MB is too small: the weights that are not experts take %.1f MB, and one expert per layer %.1f MB more; the smallest subset needs %.1f MB (all %d experts: %.1f MB)",
                                                  mb(budget), mb(otherBytes), mb(bytesPerExpert), mb(otherBytes + bytesPerExpert), experts, mb(otherBytes + expertBytes)))
            }
            return min(experts, room / bytesPerExpert)
        }

        func mb(_ b: Int) -> Double { Double(b) / 1e6 }
    }

    /// `keep` experts per layer chosen at random (seeded): the baseline a profile's choice is
    /// measured against.
    public static func random(layers: Int, experts: Int, keep: Int, seed: UInt64) -> [[Int]] {
        var g = SplitMix64(seed: seed)
        return (0..<layers).map { _ in Array((0..<experts).shuffled(using: &g).prefix(keep)).sorted() }
    }

    /// What is said of a model with no experts to keep (one way, wherever a subset is asked of one).
    public static func noExperts(_ path: String) -> String {
        "\(path) has no experts (a dense model): make an MoE from it first with `microturn model moefy`"
    }

    /// The writer of the subset of `file` keeping `kept[layer]` (ascending, equal counts), each
    /// token using `used` of them (default: as many as the file says, capped by what is kept).
    /// `downs` replaces the kept experts' down projections (DownRefit's, per layer: width rows of
    /// the kept experts' neurons in order).
    public static func writer(_ file: GGUFFile, _ c: ModelConfig, kept: [[Int]], used: Int? = nil, downs: [[Float]]? = nil,
                              provenance: [(String, GGUFValue)] = []) throws -> GGUFWriter {
        let keep = kept.first?.count ?? 0
        guard c.experts > 0 else { throw Failure(description: noExperts(file.path)) }
        guard kept.count == c.layers, (1...c.experts).contains(keep), kept.allSatisfy({ $0.count == keep && Set($0).count == keep && $0.allSatisfy { (0..<c.experts).contains($0) } }) else {
            throw Failure(description: "asked to keep \(keep) of \(c.experts) experts in each of \(kept.count) layers; a subset keeps 1 to \(c.experts) distinct experts in every one of the model's \(c.layers) layers")
        }
        let used = min(used ?? c.expertsUsed, keep)
        guard used >= 1 else { throw Failure(description: "a token must use at least one expert") }
        // moefy's scale: the down projections carry the used count.
        let rescale: Float? = file.metadata["microturn.moefy.router"] != nil && used != c.expertsUsed ? Float(used) / Float(c.expertsUsed) : nil
        var w = GGUFWriter()
        w.alignment = file.alignment
        for key in file.keys { w.metadata.append((key, file.metadata[key]!)) }
        w.set("\(c.architecture).expert_count", .uint(UInt64(keep), bits: 32))
        w.set("\(c.architecture).expert_used_count", .uint(UInt64(used), bits: 32))
        w.set("microturn.subset.kept", .string(kept.map { $0.map(String.init).joined(separator: ",") }.joined(separator: ";")))
        // The kept experts' dense neurons, so a subset of this subset can be refitted too.
        if let map = MoEfication.neurons(of: file, layers: c.layers, experts: c.experts) {
            w.set(MoEfication.neuronsKey, MoEfication.neuronsValue(zip(kept, map).map { k, m in k.map { m[$0] } }))
        }
        for (k, v) in provenance { w.set(k, v) }
        for t in file.tensors {
            guard let (layer, part) = expertTensor(t.name) else {
                w.tensors.append(GGUFWriter.Tensor(name: t.name, shape: t.shape, type: t.type) { Array(file.data(of: t)) })
                continue
            }
            // The router's rows and the expert tensors' slabs are both indexed by the last dimension.
            let slab = t.byteCount / c.experts
            var shape = t.shape
            shape[shape.count - 1] = keep
            let scaleDown = part == "ffn_down_exps" ? rescale : nil
            let refit = part == "ffn_down_exps" ? downs?[layer] : nil
            if scaleDown != nil || refit != nil, !MoEfication.exactTypes.union([.q8_0]).contains(t.type) {
                throw Failure(description: "\(t.name) is \(t.type.name); rescaling or refitting it needs F32, F16, BF16 or Q8_0")
            }
            if let refit {
                let size = t.shape[0], width = t.shape[1], columns = keep * size
                guard refit.count == width * columns else { throw Failure(description: "layer \(layer): the refitted down projection has \(refit.count) values, not \(width) x \(columns)") }
                w.tensors.append(GGUFWriter.Tensor(name: t.name, shape: shape, type: t.type) {
                    encodedDowns(refit, experts: keep, size: size, width: width, used: used, as: t.type)
                })
                continue
            }
            w.tensors.append(GGUFWriter.Tensor(name: t.name, shape: shape, type: t.type) {
                let data = file.data(of: t)
                var out: [UInt8] = []
                out.reserveCapacity(slab * keep)
                for e in kept[layer] {
                    let bytes = data[(e * slab)..<((e + 1) * slab)]
                    guard let scaleDown else { out += bytes; continue }
                    let cols = t.shape[0], rows = slab / (cols / t.type.block.size * t.type.block.bytes)
                    var row = [Float](repeating: 0, count: cols)
                    for r in 0..<rows {
                        row.withUnsafeMutableBufferPointer { Dequantize.row(data.baseAddress! + e * slab + r * (slab / rows), type: t.type, count: cols, into: $0.baseAddress!) }
                        out += RowEncoding.encode(row.map { $0 * scaleDown }, as: t.type)
                    }
                }
                return out
            })
        }
        return w
    }

    /// (layer, "ffn_gate_inp" | "ffn_NAME_exps") for a router or expert tensor's name: the tensors
    /// indexed by expert in their last dimension.
    static func expertTensor(_ name: String) -> (layer: Int, part: Substring)? {
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), parts[2] == "ffn_gate_inp" || parts[2].hasSuffix("_exps") else { return nil }
        return (layer, parts[2])
    }

    /// A refitted down projection (width rows x experts * size columns, DownRefit's) as expert
    /// tensor data: each expert's width rows of `size`, carrying moefy's factor `used`.
    static func encodedDowns(_ refit: [Float], experts: Int, size: Int, width: Int, used: Int, as type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        for p in 0..<experts { for r in 0..<width {
            let start = r * experts * size + p * size
            out += RowEncoding.encode(refit[start..<(start + size)].map { $0 * Float(used) }, as: type)
        } }
        return out
    }

    /// The type a regrouped subset writes its refitted down projections in: that of the gate and up
    /// rows it copies (the dense model's: Q4_1 for SmolLM2), where one expert's rows are whole
    /// blocks of it, rather than the Q8_0 moefy keeps its re-sliced downs in. Refitted, they are new
    /// numbers anyway, and at the dense model's precision the same bytes hold a fifth more neurons
    /// (29 of 48 experts' worth in half of the expert bytes, against 24).
    public static func regroupedDownType(_ file: GGUFFile) -> GGMLType? {
        guard let gate = file.tensors.first(where: { $0.name.hasSuffix("ffn_gate_exps.weight") }),
              let down = file.tensors.first(where: { $0.name.hasSuffix("ffn_down_exps.weight") }), down.shape.count == 3 else { return nil }
        let type = RowEncoding.types.contains(gate.type) && down.shape[0] % gate.type.block.size == 0 ? gate.type : down.type
        return RowEncoding.types.contains(type) ? type : nil
    }

    /// What a regrouped subset of `file` is made from: which dense neurons each layer's experts hold,
    /// and the type its down projections are written in; or why the file cannot be regrouped.
    public static func regrouping(_ file: GGUFFile, _ c: ModelConfig) throws -> (neurons: [[[Int]]], downType: GGMLType) {
        guard c.experts > 0, let map = MoEfication.neurons(of: file, layers: c.layers, experts: c.experts) else {
            throw Failure(description: "\(file.path) does not say which dense neurons its experts hold (only files `microturn model moefy` wrote do)")
        }
        guard let downType = regroupedDownType(file) else {
            throw Failure(description: "\(file.path): its experts' tensors are of types a refitted down projection cannot be written in (F32, F16, BF16, Q8_0, Q4_1)")
        }
        return (map, downType)
    }

    /// The writer of a subset of `file`'s neurons rather than of its experts: per layer, the
    /// `experts` x size dense neurons that `DownRefit.choose` keeps, regrouped into `experts`
    /// experts (in the file's order, so each mostly holds neurons of one of its experts), their
    /// down projections refitted, every expert used and the router zero (each expert weighs
    /// exactly 1/experts, as the refit assumes). Cut at the neuron, the same bytes keep much more
    /// of the dense model than whole experts do (see `DownRefit.choose`).
    public static func regroupedWriter(_ file: GGUFFile, _ c: ModelConfig, statistics: DownRefit.Statistics, experts keep: Int,
                                       threads: Int) throws -> GGUFWriter {
        let (map, downType) = try regrouping(file, c)
        guard (1...c.experts).contains(keep) else {
            throw Failure(description: "asked to keep \(keep) experts a layer; the model has \(c.experts)")
        }
        let size = map[0][0].count
        guard statistics.hiddenWidth == c.experts * size, statistics.width == c.width else {
            throw Failure(description: "the refit's statistics are of another model (\(statistics.hiddenWidth) neurons a layer, width \(statistics.width))")
        }
        // Where each dense neuron sits in the file: expert * size + row.
        let place = map.map { experts in
            var at = [Int](repeating: 0, count: c.experts * size)
            for (e, members) in experts.enumerated() { for (r, j) in members.enumerated() { at[j] = e * size + r } }
            return at
        }
        let kept = try DownRefit.choose(statistics, keep: keep * size, threads: threads).enumerated().map { layer, neurons in
            neurons.sorted { place[layer][$0] < place[layer][$1] }
        }
        let downs = try DownRefit.fit(statistics, kept: kept)
        var w = GGUFWriter()
        w.alignment = file.alignment
        for key in file.keys where key != "microturn.subset.kept" { w.metadata.append((key, file.metadata[key]!)) }
        w.set("\(c.architecture).expert_count", .uint(UInt64(keep), bits: 32))
        w.set("\(c.architecture).expert_used_count", .uint(UInt64(keep), bits: 32))
        w.set(MoEfication.neuronsKey, MoEfication.neuronsValue(kept.map { n in stride(from: 0, to: n.count, by: size).map { Array(n[$0..<($0 + size)]) } }))
        for t in file.tensors {
            guard let (layer, part) = expertTensor(t.name) else {
                w.tensors.append(GGUFWriter.Tensor(name: t.name, shape: t.shape, type: t.type) { Array(file.data(of: t)) })
                continue
            }
            var shape = t.shape
            shape[shape.count - 1] = keep
            switch part {
            case "ffn_gate_inp":
                w.tensors.append(GGUFWriter.Tensor(name: t.name, shape: shape, type: .f32) { RowEncoding.encode([Float](repeating: 0, count: c.width * keep), as: .f32) })
            case "ffn_down_exps":
                w.tensors.append(GGUFWriter.Tensor(name: t.name, shape: shape, type: downType) {
                    encodedDowns(downs[layer], experts: keep, size: size, width: c.width, used: keep, as: downType)
                })
            default:  // gate and up: the kept neurons' rows, copied as they are
                let rowBytes = t.byteCount / (c.experts * size)
                w.tensors.append(GGUFWriter.Tensor(name: t.name, shape: shape, type: t.type) {
                    let data = file.data(of: t)
                    var out: [UInt8] = []
                    out.reserveCapacity(rowBytes * keep * size)
                    for j in kept[layer] { out += data[(place[layer][j] * rowBytes)..<((place[layer][j] + 1) * rowBytes)] }
                    return out
                })
            }
        }
        return w
    }
}
