import CMicroturnKernels

/// A weight matrix used in place from the model file: `rows` outputs of `cols` inputs, one row
/// after the other; an expert tensor holds `count` of them back to back. Q4_0 matrices are also
/// repacked eight rows together (`packed`), the form their kernels read.
/// (Sendable: the bytes are a read-only mapping, or a copy, that no one writes.)
public struct Matrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let rowBytes: Int
    let base: UnsafeRawPointer
    /// The rows repacked (mt_repack_q4_0x8), when the type's kernels want them so.
    var packed: UnsafeRawPointer?

    init(_ file: GGUFFile, _ t: GGUFFile.Tensor, rows: Int, cols: Int, offset: Int = 0) {
        name = t.name
        type = t.type
        self.rows = rows
        self.cols = cols
        rowBytes = cols / t.type.block.size * t.type.block.bytes
        base = file.data(of: t).baseAddress! + offset
    }

    func row(_ r: Int) -> UnsafeRawPointer { base + r * rowBytes }

    /// Rows start a chunk of a product here (a multiple of 8 when packed).
    var rowAlignment: Int { packed == nil ? 1 : 8 }

    /// What `mt_product` reads for the rows from `first` on, and the kernel it names.
    func weights(from first: Int) -> (pointer: UnsafeRawPointer, kernel: Int32) {
        guard let packed, let (kernel, group) = Self.repacking(type, cols: cols) else { return (row(first), Int32(type.rawValue)) }
        return (packed + first / 8 * group, kernel)
    }

    /// For a type whose kernels read rows repacked eight together: the kernel, and the bytes of
    /// a group of eight rows (nil: the type is used as the file has it).
    static func repacking(_ type: GGMLType, cols: Int) -> (kernel: Int32, groupBytes: Int)? {
        switch type {
        case .q4_0: (Int32(MT_TYPE_Q4_0X8), mt_q4_0x8_bytes(8, Int32(cols)))
        case .q4_K: (Int32(MT_TYPE_Q4_KX8), mt_q4_Kx8_bytes(8, Int32(cols)))
        default: nil
        }
    }

    /// Row `r` as floats (an embedding lookup).
    func floats(row r: Int) -> [Float] {
        var out = [Float](repeating: 0, count: cols)
        out.withUnsafeMutableBufferPointer { Dequantize.row(row(r), type: type, count: cols, into: $0.baseAddress!) }
        return out
    }
}

/// Copies of weights in the form their kernels read (Q4_0, Q4_K: eight rows together); they live
/// as long as this, and the file pages they came from leave the resident set. Filled while the
/// model loads, on the loading thread (not Sendable: `pack` mutates it unguarded).
final class PackedWeights {
    private var buffers: [UnsafeMutableRawPointer] = []
    /// Bytes held (for memory figures).
    private(set) var bytes = 0

    deinit { for b in buffers { b.deallocate() } }

    /// The matrices of tensor `t` (one, or one per expert), repacked where their type wants it.
    func pack(_ matrices: [Matrix], of t: GGUFFile.Tensor, in file: GGUFFile) -> [Matrix] {
        guard Matrix.repacking(t.type, cols: 256) != nil else { return matrices }
        let packed = matrices.map { m in
            let rows = Int32(m.rows), cols = Int32(m.cols)
            let size = t.type == .q4_0 ? mt_q4_0x8_bytes(rows, cols) : mt_q4_Kx8_bytes(rows, cols)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            if t.type == .q4_0 { mt_repack_q4_0x8(m.base, m.rowBytes, rows, cols, buffer) } else { mt_repack_q4_Kx8(m.base, m.rowBytes, rows, cols, buffer) }
            buffers.append(buffer)
            bytes += size
            var p = m
            p.packed = UnsafeRawPointer(buffer)
            return p
        }
        file.release(t)
        return packed
    }
}

/// Finds a model's tensors by name and checks their shapes, with errors that name them.
struct TensorLookup {
    let file: GGUFFile
    /// Where repacked copies go (nil: matrices stay as the file has them, e.g. an embedding).
    var packed: PackedWeights?

    func tensor(_ name: String) throws(GGUFError) -> GGUFFile.Tensor {
        guard let t = file.tensor(name) else {
            throw .badTensor(path: file.path, tensor: name, reason: "is missing, and architecture '\(file.architecture ?? "?")' needs it")
        }
        guard GGMLType.supported.contains(t.type) else {
            throw .badTensor(path: file.path, tensor: name, reason: "has type \(t.type.name), which the engine cannot compute with (it does \(GGMLType.supported.map(\.name).sorted().joined(separator: ", ")))")
        }
        return t
    }

    func check(_ t: GGUFFile.Tensor, _ shape: [Int]) throws(GGUFError) {
        guard t.shape == shape else {
            throw .badTensor(path: file.path, tensor: t.name, reason: "has shape \(t.shape), the hyper-parameters need \(shape)")
        }
    }

    func matrix(_ name: String, rows: Int, cols: Int) throws(GGUFError) -> Matrix {
        let t = try tensor(name)
        try check(t, [cols, rows])
        let m = Matrix(file, t, rows: rows, cols: cols)
        return packed?.pack([m], of: t, in: file)[0] ?? m
    }

    /// The `count` matrices of an expert tensor (ggml shape [cols, rows, count]).
    func experts(_ name: String, rows: Int, cols: Int, count: Int) throws(GGUFError) -> [Matrix] {
        let t = try tensor(name)
        try check(t, [cols, rows, count])
        let bytes = t.byteCount / count
        let matrices = (0..<count).map { Matrix(file, t, rows: rows, cols: cols, offset: $0 * bytes) }
        return packed?.pack(matrices, of: t, in: file) ?? matrices
    }

    /// A vector (norm weights, a gate), as floats.
    func vector(_ name: String, _ n: Int) throws(GGUFError) -> [Float] {
        let t = try tensor(name)
        try check(t, [n])
        return Matrix(file, t, rows: 1, cols: n).floats(row: 0)
    }

    func optionalVector(_ name: String, _ n: Int) throws(GGUFError) -> [Float]? {
        file.tensor(name) == nil ? nil : try vector(name, n)
    }
}
