import Foundation
@testable import MicroturnInference
import Testing
import TestSupport

/// Our block decoders against gguf-py's (PyPI `gguf`), an independent implementation of the same
/// layouts: tools/gguf-reference.py writes random blocks of every type with gguf-py's decoding.
@Suite(.ownThreads) struct DequantizeTests {
    @Test(arguments: [1, 2])
    func everyTypeDecodesLikeGgufPy(seed: Int) throws {
        let path = Scratch.directory.appendingPathComponent("mt-ref-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try ReferenceTools.tool(["tools/gguf-reference.py", "blocks", path, "--seed", "\(seed)"])
        try #require(r.status == 0, "tools/gguf-reference.py failed (tools/setup.sh --tests installs gguf and numpy): \(r.err)")
        let file = try GGUFFile(path: path)
        let types: [GGMLType] = [.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]
        #expect(Set(types).isSubset(of: GGMLType.supported))
        for type in types {
            let t = try #require(file.tensor(type.name)), ref = try #require(file.tensor(type.name + ".ref"))
            #expect(t.type == type && t.shape == ref.shape)
            let n = t.elementCount
            var ours = [Float](repeating: .nan, count: n)
            let rowBytes = t.byteCount / t.rowCount
            let data = file.data(of: t)
            ours.withUnsafeMutableBufferPointer { out in
                for row in 0..<t.rowCount {
                    Dequantize.row(data.baseAddress! + row * rowBytes, type: type, count: t.shape[0],
                                   into: out.baseAddress! + row * t.shape[0])
                }
            }
            let expected = file.data(of: ref).bindMemory(to: Float.self)
            var worst = 0.0
            for i in 0..<n {
                let e = Double(expected[i]), o = Double(ours[i])
                worst = max(worst, abs(e - o) / max(1e-6, abs(e)))
            }
            #expect(worst < 1e-5, "\(type.name): worst relative difference \(worst)")
        }
    }
}
