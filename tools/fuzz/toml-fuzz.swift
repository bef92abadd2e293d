// libFuzzer harness for the config reader (built by tools/fuzz.sh with MicroturnCore's sources):
// any bytes must give a ConfigError or a config that passes the consistency check or fails it
// with an error, never a trap or a stack overflow.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var config = MicroturnConfig()
    if (try? ConfigSchema.apply(toml: text, file: "fuzz.toml", to: &config)) != nil {
        _ = try? ConfigSchema.checkConsistent(config)
    }
    return 0
}
