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
