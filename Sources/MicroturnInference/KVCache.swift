import CMicroturnKernels

/// Keys and values of every position so far, per layer and key/value head, each head's positions
/// one after another: attention reads one head's keys front to back, and the query heads that
/// share it read them while they are in cache.
public final class KVCache {
    /// How each key and value element is kept: F32, or F16 (half the memory; llama.cpp's default).
    public enum Precision: String, Sendable, CaseIterable {
        case f32, f16
        var bytes: Int { self == .f32 ? 4 : 2 }
    }

    let layers: Int
    let heads: Int
    let dim: Int
    let precision: Precision
    /// The most positions it ever holds (the model's context length).
    let limit: Int
    /// Positions there is room for before the buffers grow (doubling, contents kept).
    private(set) var capacity = 0
    /// Per layer: heads x capacity x dim elements.
    private var keys: [UnsafeMutableRawPointer] = []
    private var values: [UnsafeMutableRawPointer] = []

    init(layers: Int, heads: Int, dim: Int, limit: Int, precision: Precision) {
        self.limit = limit
        self.layers = layers
        self.heads = heads
        self.dim = dim
        self.precision = precision
    }

    deinit {
        for p in keys + values { p.deallocate() }
    }

    /// Bytes held.
    var bytes: Int { 2 * layers * heads * capacity * dim * precision.bytes }

    /// Makes room for `positions` positions, keeping the first `used`.
    func reserve(_ positions: Int, used: Int) {
        guard positions > capacity else { return }
        precondition(positions <= limit, "the caller checks the context length")
        let grown = min(limit, max(positions, 2 * capacity, 64)), e = precision.bytes
        func regrow(_ old: [UnsafeMutableRawPointer]) -> [UnsafeMutableRawPointer] {
            (0..<layers).map { l in
                let p = UnsafeMutableRawPointer.allocate(byteCount: heads * grown * dim * e, alignment: 64)
                if !old.isEmpty {
                    for h in 0..<heads { (p + h * grown * dim * e).copyMemory(from: old[l] + h * capacity * dim * e, byteCount: used * dim * e) }
                    old[l].deallocate()
                }
                return p
            }
        }
        keys = regrow(keys)
        values = regrow(values)
        capacity = grown
    }

    /// Stores `count` positions from `first` on for one layer: token t's keys (all heads, `dim` each)
    /// at k + t * stride, its values likewise (rounded to F16 when kept so).
    func store(layer: Int, first: Int, count: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, stride: Int) {
        precondition(first + count <= capacity, "reserve before storing")
        let e = precision.bytes
        for h in 0..<heads {
            for t in 0..<count {
                let at = (h * capacity + first + t) * dim * e
                switch precision {
                case .f32:
                    (keys[layer] + at).copyMemory(from: k + t * stride + h * dim, byteCount: dim * 4)
                    (values[layer] + at).copyMemory(from: v + t * stride + h * dim, byteCount: dim * 4)
                case .f16:
                    mt_quantize_f16(k + t * stride + h * dim, Int32(dim), keys[layer] + at)
                    mt_quantize_f16(v + t * stride + h * dim, Int32(dim), values[layer] + at)
                }
            }
        }
    }

    /// Where head `head`'s keys (or values) of layer `layer` start, `dim` elements per position.
    func keys(layer: Int, head: Int) -> UnsafeRawPointer { UnsafeRawPointer(keys[layer] + head * capacity * dim * precision.bytes) }
    func values(layer: Int, head: Int) -> UnsafeRawPointer { UnsafeRawPointer(values[layer] + head * capacity * dim * precision.bytes) }
}
