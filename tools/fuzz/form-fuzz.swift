// libFuzzer harness for the multipart form reader of the server's audio endpoint (built by
// tools/fuzz.sh with MultipartForm.swift): any body, with the boundary its first line names, gives
// Malformed or parts whose bodies lie within it; a Content-Type header made of the same bytes gives
// a boundary or nil.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForm(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Data(bytes: data, count: size)
    let firstLine = String(decoding: body.prefix { $0 != 13 && $0 != 10 }.prefix(200), as: UTF8.self)
    _ = MultipartForm.boundary(contentType: "multipart/form-data; " + firstLine)
    let boundary = firstLine.hasPrefix("--") ? String(firstLine.dropFirst(2)) : "b"
    guard !boundary.isEmpty, let parts = try? MultipartForm.parse(body, boundary: boundary) else { return 0 }
    precondition(parts.reduce(0) { $0 + $1.body.count } <= size)
    return 0
}
