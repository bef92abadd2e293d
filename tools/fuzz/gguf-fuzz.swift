// libFuzzer harness for the GGUF reader (built by tools/fuzz.sh with -sanitize=fuzzer,address,
// together with MicroturnInference's sources). Any input must give a GGUFError or a file whose
// every part can be used: hyper-parameters, chat template, tokenizer, and the first row of every
// tensor.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? GGUFFile(bytes: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.gguf") else { return 0 }
    _ = try? ModelConfig(file)
    if let template = try? ChatTemplate(file: file) { _ = template.render([ChatMessage(.user, "hi")]) }
    if let tokenizer = try? Tokenizer(file: file) {
        let ids = tokenizer.encode("Hello <|im_end|> wörld 123")
        _ = tokenizer.decode(ids)
    }
    for t in file.tensors where GGMLType.supported.contains(t.type) {
        let n = t.shape[0]
        var row = [Float](repeating: 0, count: n)
        row.withUnsafeMutableBufferPointer { Dequantize.row(file.data(of: t).baseAddress!, type: t.type, count: n, into: $0.baseAddress!) }
    }
    return 0
}
