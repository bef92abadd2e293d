/// Keys and values of every position so far, per layer and key/value head, each head's positions
/// one after another: attention reads one head's keys front to back, and the query heads that
/// share it read them while they are in cache.
final class KVCache {
    let layers: Int
    let heads: Int
    let dim: Int
    /// The most positions it ever holds (the model's context length).
    let limit: Int
    /// Positions there is room for before the buffers grow (doubling, contents kept).
    private(set) var capacity = 0
    /// Per layer: heads x capacity x dim floats.
    private var keys: [UnsafeMutablePointer<Float>] = []
    private var values: [UnsafeMutablePointer<Float>] = []

    init(layers: Int, heads: Int, dim: Int, limit: Int) {
        self.limit = limit
        self.layers = layers
        self.heads = heads
        self.dim = dim
    }

    deinit {
        for p in keys + values { p.deallocate() }
    }

    /// Makes room for `positions` positions, keeping the first `used`.
    func reserve(_ positions: Int, used: Int) {
        guard positions > capacity else { return }
        precondition(positions <= limit, "the caller checks the context length")
        let grown = min(limit, max(positions, 2 * capacity, 64))
        func regrow(_ old: [UnsafeMutablePointer<Float>]) -> [UnsafeMutablePointer<Float>] {
            (0..<layers).map { l in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: heads * grown * dim)
                if !old.isEmpty {
                    for h in 0..<heads { (p + h * grown * dim).update(from: old[l] + h * capacity * dim, count: used * dim) }
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
    /// at k + t * stride, its values likewise.
    func store(layer: Int, first: Int, count: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, stride: Int) {
        precondition(first + count <= capacity, "reserve before storing")
        for h in 0..<heads {
            for t in 0..<count {
                let at = (h * capacity + first + t) * dim
                (keys[layer] + at).update(from: k + t * stride + h * dim, count: dim)
                (values[layer] + at).update(from: v + t * stride + h * dim, count: dim)
            }
        }
    }

    /// Where head `head`'s keys (or values) of layer `layer` start, `dim` floats per position.
    func keys(layer: Int, head: Int) -> UnsafePointer<Float> { UnsafePointer(keys[layer] + head * capacity * dim) }
    func values(layer: Int, head: Int) -> UnsafePointer<Float> { UnsafePointer(values[layer] + head * capacity * dim) }
}
