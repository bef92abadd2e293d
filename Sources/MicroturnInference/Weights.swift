/// A weight matrix used in place from the model file: `rows` outputs of `cols` inputs, one row
/// after the other; an expert tensor holds `count` of them back to back.
/// (Sendable: the bytes are a read-only mapping no one writes.)
public struct Matrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let rowBytes: Int
    let base: UnsafeRawPointer

    init(_ file: GGUFFile, _ t: GGUFFile.Tensor, rows: Int, cols: Int, offset: Int = 0) {
        name = t.name
        type = t.type
        self.rows = rows
        self.cols = cols
        rowBytes = cols / t.type.block.size * t.type.block.bytes
        base = file.data(of: t).baseAddress! + offset
    }

    func row(_ r: Int) -> UnsafeRawPointer { base + r * rowBytes }

    /// Row `r` as floats (an embedding lookup).
    func floats(row r: Int) -> [Float] {
        var out = [Float](repeating: 0, count: cols)
        out.withUnsafeMutableBufferPointer { Dequantize.row(row(r), type: type, count: cols, into: $0.baseAddress!) }
        return out
    }
}

/// Finds a model's tensors by name and checks their shapes, with errors that name them.
struct TensorLookup {
    let file: GGUFFile

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
        return Matrix(file, t, rows: rows, cols: cols)
    }

    /// The `count` matrices of an expert tensor (ggml shape [cols, rows, count]).
    func experts(_ name: String, rows: Int, cols: Int, count: Int) throws(GGUFError) -> [Matrix] {
        let t = try tensor(name)
        try check(t, [cols, rows, count])
        let bytes = t.byteCount / count
        return (0..<count).map { Matrix(file, t, rows: rows, cols: cols, offset: $0 * bytes) }
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
