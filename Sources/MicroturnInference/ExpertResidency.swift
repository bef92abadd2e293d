import Foundation

/// Which experts a board keeps in memory, and what happens when a token's router picks one it does
/// not: `reroute` sends the token to the best resident experts instead (the top k among the
/// resident ones, gates renormalized; no I/O on the hot path); `page` reads the expert in from the
/// mapped file into an LRU cache of `cacheExperts` experts beside the resident ones, dropping the
/// least recently used one's pages (madvise) to stay within the budget. Counts what happened, for
/// the benches. Paging is of weights the engine reads in place from the file (Q4_1, Q8_0, F16...);
/// Q4_0 and Q4_K are repacked into memory at load, so there it only counts. Used by one forward
/// pass at a time (the engine's), so unguarded.
public final class ExpertResidency {
    public enum Mode: Sendable, Equatable {
        case reroute
        case page(cacheExperts: Int)
    }

    public struct Stats: Sendable, Equatable {
        /// Picks of a resident expert, of a cached one, and of one read in from the file.
        public var resident = 0, hits = 0, misses = 0
        /// Picks that went to another expert than the router's own choice (reroute).
        public var rerouted = 0
        /// Time spent reading experts in on misses.
        public var stallNanoseconds: UInt64 = 0
        public var hitRate: Double { hits + misses == 0 ? 1 : Double(hits) / Double(hits + misses) }
        public init() {}
    }

    public let mode: Mode
    /// layers x experts.
    public let resident: [[Bool]]
    public internal(set) var stats = Stats()
    private var lastUse: [Int: UInt64] = [:]   // layer * experts + expert -> tick
    private var tick: UInt64 = 0
    private var sink: UInt8 = 0
    /// Set by Transformer.attach: each expert's matrices (layer, expert) and the file they are in.
    var weights: [[[Matrix]]] = []
    var file: GGUFFile?

    /// `keep[layer]`: the experts resident in each layer.
    public init(keep: [[Int]], experts: Int, mode: Mode) {
        resident = keep.map { k in (0..<experts).map { k.contains($0) } }
        self.mode = mode
    }

    public func resetStats() { stats = Stats() }

    var reroutes: Bool { mode == .reroute }

    /// Records that `layer` runs expert `e` and, when paging a non-resident one, brings it in.
    func use(_ layer: Int, _ e: Int) {
        if resident[layer][e] { stats.resident += 1; return }
        guard case let .page(capacity) = mode else { return }
        let experts = resident[layer].count, key = layer * experts + e
        tick += 1
        if lastUse[key] != nil {
            stats.hits += 1
            lastUse[key] = tick
            return
        }
        stats.misses += 1
        let start = DispatchTime.now().uptimeNanoseconds
        for m in weights[layer][e] {
            var i = 0
            while i < m.rows * m.rowBytes { sink &+= m.base.load(fromByteOffset: i, as: UInt8.self); i += 4096 }
        }
        stats.stallNanoseconds += DispatchTime.now().uptimeNanoseconds - start
        lastUse[key] = tick
        if lastUse.count > capacity, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
            lastUse[oldest] = nil
            for m in weights[oldest / experts][oldest % experts] { file?.release(UnsafeRawBufferPointer(start: m.base, count: m.rows * m.rowBytes)) }
        }
    }
}
