/// Rows of float activations (one per token of a batch), converted on demand into the form each
/// weight type reads (`VecDot.prepare`), once per form however many matrices read them.
final class Activations {
    let rows: Int
    let cols: Int
    let floats: UnsafeMutablePointer<Float>
    private var prepared: [VecDot.Activation: UnsafeMutableRawPointer] = [:]

    init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        floats = .allocate(capacity: max(1, rows * cols))
        floats.initialize(repeating: 0, count: max(1, rows * cols))
    }

    deinit {
        floats.deallocate()
        for p in prepared.values { p.deallocate() }
    }

    func row(_ t: Int) -> UnsafeMutablePointer<Float> { floats + t * cols }

    /// The rows prepared for `type`, `stride(for:)` bytes apart (made on the first call: fill
    /// `floats` before).
    func input(for type: GGMLType, pool: WorkerPool?) -> UnsafeRawPointer {
        let kind = VecDot.activation(for: type)
        if let p = prepared[kind] { return UnsafeRawPointer(p) }
        let stride = kind.bytes(cols)
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * stride), alignment: 64)
        let (floats, cols) = (self.floats, self.cols)
        let each = { (t: Int) in VecDot.prepare(floats + t * cols, count: cols, for: type, into: p + t * stride) }
        if let pool, rows > 1 { pool.parallelFor(rows, each) } else { for t in 0..<rows { each(t) } }
        prepared[kind] = p
        return UnsafeRawPointer(p)
    }

    func stride(for type: GGMLType) -> Int { VecDot.activation(for: type).bytes(cols) }
}

/// One matrix applied to some rows of an `Activations`: output row i is the matrix times input
/// row `tokens[i]`, written at `output + i * outputStride`.
struct Product {
    let matrix: Matrix
    let input: Activations
    let tokens: [Int]
    let output: UnsafeMutablePointer<Float>
    let outputStride: Int

    /// Runs a set of independent products as one job on the pool, in chunks of rows; each row
    /// of weights is read once and applied to every token (four at a time) while it is in cache.
    static func run(_ products: [Product], pool: WorkerPool?) {
        let threads = pool?.threads ?? 1
        let chunkOf = { (m: Matrix) in max(16, (m.rows + 2 * threads - 1) / (2 * threads)) }
        var jobs: [(product: Int, first: Int)] = []
        for (i, p) in products.enumerated() where !p.tokens.isEmpty {
            for first in stride(from: 0, to: p.matrix.rows, by: chunkOf(p.matrix)) { jobs.append((i, first)) }
        }
        let inputs = products.map { $0.input.input(for: $0.matrix.type, pool: pool) }
        let body = { (j: Int) in
            let (i, first) = jobs[j]
            let p = products[i], m = p.matrix, input = inputs[i], inStride = p.input.stride(for: m.type)
            let tokens = p.tokens, out = p.output, outStride = p.outputStride
            let row = { (k: Int) in input + tokens[k] * inStride }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 4) { four in
                for r in first..<min(m.rows, first + chunkOf(m)) {
                    let w = m.row(r)
                    // Four tokens at a time while there are four, then one by one.
                    var k = 0
                    while k + 4 <= tokens.count {
                        VecDot.row4(w, type: m.type, (row(k), row(k + 1), row(k + 2), row(k + 3)), count: m.cols, into: four.baseAddress!)
                        for i in 0..<4 { out[(k + i) * outStride + r] = four[i] }
                        k += 4
                    }
                    for k in k..<tokens.count { out[k * outStride + r] = VecDot.row(w, type: m.type, row(k), count: m.cols) }
                }
            }
        }
        if let pool { pool.parallelFor(jobs.count, body) } else { for j in jobs.indices { body(j) } }
    }
}
