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

    /// Runs a set of independent products as one job on the pool, in chunks of rows (each row of
    /// weights is read once and applied to every token while it is in cache: `VecDot.product`).
    static func run(_ products: [Product], pool: WorkerPool?) {
        let threads = pool?.threads ?? 1
        let chunkOf = { (m: Matrix) in
            let rows = max(16, (m.rows + 2 * threads - 1) / (2 * threads)), align = m.rowAlignment
            return (rows + align - 1) / align * align
        }
        var jobs: [(product: Int, first: Int)] = []
        for (i, p) in products.enumerated() where !p.tokens.isEmpty {
            for first in stride(from: 0, to: p.matrix.rows, by: chunkOf(p.matrix)) { jobs.append((i, first)) }
        }
        let inputs = products.map { $0.input.input(for: $0.matrix.type, pool: pool) }
        // Per product, where each of its tokens' activations start.
        let rows = products.indices.map { i in
            let p = products[i], stride = p.input.stride(for: p.matrix.type)
            return p.tokens.map { Optional(inputs[i] + $0 * stride) }
        }
        let body = { (j: Int) in
            let (i, first) = jobs[j]
            let p = products[i], m = p.matrix, count = min(m.rows, first + chunkOf(m)) - first
            let (weights, kernel) = m.weights(from: first)
            VecDot.product(weights, kernel: kernel, rowBytes: m.rowBytes, rows: count, activations: rows[i], count: m.cols,
                           into: p.output + first, outputStride: p.outputStride)
        }
        if let pool { pool.parallelFor(jobs.count, body) } else { for j in jobs.indices { body(j) } }
    }
}
