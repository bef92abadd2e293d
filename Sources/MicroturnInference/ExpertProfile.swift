import Foundation

/// How much each expert of an MoE model is used on a text: per layer and expert, how often the
/// router chose it, its total gate weight, and its saliency (the mean over tokens of gate weight
/// times the norm of its output; zero where not chosen). A subset keeps the most salient. The
/// profile names the model it was made from, so it is not applied to another.
public struct ExpertProfile: Codable, Sendable, Equatable {
    public struct Expert: Codable, Sendable, Equatable {
        public var chosen: Int
        public var gateWeight: Double
        public var saliency: Double
    }

    /// Of the model: its file name, experts per layer, and a fingerprint of its routers.
    public var model: String
    public var experts: Int
    public var fingerprint: String
    public var tokens: Int
    /// layers x experts.
    public var layers: [[Expert]]

    public struct Mismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// The profile `model profile --out` wrote at `path`; the error says what is wrong with it.
    public static func load(_ path: String) throws(Mismatch) -> ExpertProfile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Mismatch(description: "\(path): cannot read the expert profile (\(error.localizedDescription))")
        }
        do { return try JSONDecoder().decode(ExpertProfile.self, from: data) } catch {
            throw Mismatch(description: "\(path): not an expert profile that `microturn model profile --out` wrote (\(error))")
        }
    }

    /// A hash (FNV-1a, 64 bits) of every layer's router tensor: the same for a file and its copies,
    /// different for another MoE (a subset has other routers, so needs its own profile).
    public static func fingerprint(_ file: GGUFFile) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for t in file.tensors where t.name.hasSuffix("ffn_gate_inp.weight") {
            for b in file.data(of: t) { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        return String(format: "%016llx", h)
    }

    /// Runs `corpus` through `t` in chunks of `context`, watching the routers;
    /// `progress(tokensRead, total)`.
    public static func measure(_ t: Transformer, corpus: [Int], context: Int, maxTokens: Int,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> ExpertProfile {
        let c = t.config
        guard c.experts > 0 else { throw Mismatch(description: "\(t.file.path) has no experts: profile an MoE model (make one with `microturn model moefy`)") }
        let blank = Expert(chosen: 0, gateWeight: 0, saliency: 0)
        let box = Box(Array(repeating: Array(repeating: blank, count: c.experts), count: c.layers))
        t.feedForwardProbe = { trace in
            for token in trace.picks { for p in token {
                box.layers[trace.layer][p.expert].chosen += 1
                box.layers[trace.layer][p.expert].gateWeight += Double(p.weight)
                box.layers[trace.layer][p.expert].saliency += Double(p.weight * p.outputNorm)
            } }
        }
        defer { t.feedForwardProbe = nil }
        let total = min(corpus.count, maxTokens)
        var start = 0
        while start < total {
            let chunk = Array(corpus[start..<min(total, start + context)])
            t.reset()
            _ = try t.forward(tokens: chunk)
            start += chunk.count
            progress(start, total)
        }
        var layers = box.layers
        for l in layers.indices { for e in layers[l].indices { layers[l][e].saliency /= Double(max(1, total)) } }
        return ExpertProfile(model: URL(fileURLWithPath: t.file.path).lastPathComponent, experts: c.experts,
                             fingerprint: fingerprint(t.file), tokens: total, layers: layers)
    }

    private final class Box {
        var layers: [[Expert]]
        init(_ l: [[Expert]]) { layers = l }
    }

    /// Refuses a profile made from another model than `file`.
    public func check(against file: GGUFFile, layers: Int, experts: Int) throws(Mismatch) {
        guard fingerprint == Self.fingerprint(file), self.layers.count == layers, self.experts == experts else {
            throw Mismatch(description: "the profile was made from \(model) (\(self.layers.count) layers of \(self.experts) experts, routers \(fingerprint)), not from \(file.path) (\(layers) layers of \(experts) experts, routers \(Self.fingerprint(file))): make one for this file with `microturn model profile --model \(file.path) --text ...`")
        }
    }

    /// Per layer, the `keep` most salient experts (ties to the lower index), in ascending order.
    public func mostSalient(_ keep: Int) -> [[Int]] {
        layers.map { l in Array(l.indices.sorted { l[$0].saliency > l[$1].saliency || (l[$0].saliency == l[$1].saliency && $0 < $1) }.prefix(keep)).sorted() }
    }
}
