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
