import Foundation

/// multipart/form-data (RFC 7578), as the OpenAI audio API takes a file: written by the
/// transcription client, read by the server's audio endpoint. Reading never trusts the body: a
/// missing boundary, a part without its end or without a name is an error that says so.
public enum MultipartForm {
    public struct Part: Sendable, Equatable {
        public var name: String
        public var filename: String?
        public var body: Data
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// `fields` as text parts, then `file`.
    public static func encode(fields: [(String, String)], file: (field: String, filename: String, contentType: String, data: Data),
                              boundary: String) -> Data {
        var d = Data()
        for (name, value) in fields {
            d.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        d.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.filename)\"\r\n".utf8))
        d.append(Data("Content-Type: \(file.contentType)\r\n\r\n".utf8))
        d.append(file.data)
        d.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return d
    }

    /// The boundary of a `Content-Type: multipart/form-data; boundary=...` header.
    public static func boundary(contentType: String) -> String? {
        guard contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let kv = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                let b = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return b.isEmpty || b.count > 200 ? nil : b
            }
        }
        return nil
    }

    public static func parse(_ bytes: Data, boundary: String) throws(Malformed) -> [Part] {
        let body = Data(bytes)  // indices from 0
        let delimiter = Data("--\(boundary)".utf8)
        let lineEnd = Data("\r\n".utf8), headerEnd = Data("\r\n\r\n".utf8)
        guard var at = body.range(of: delimiter)?.upperBound else { throw Malformed(description: "no part starts with the boundary") }
        var parts: [Part] = []
        while true {
            // After a delimiter: "--" ends the form, else a line end and a part.
            if body[at...].starts(with: Data("--".utf8)) { return parts }
            guard body[at...].starts(with: lineEnd) else { throw Malformed(description: "a boundary is not followed by a line end") }
            at += lineEnd.count
            guard let headersEnd = body.range(of: headerEnd, in: at..<body.endIndex) else {
                throw Malformed(description: "part \(parts.count + 1) has no end to its headers")
            }
            let headers = String(decoding: body[at..<headersEnd.lowerBound], as: UTF8.self)
            guard let next = body.range(of: lineEnd + delimiter, in: headersEnd.upperBound..<body.endIndex) else {
                throw Malformed(description: "part \(parts.count + 1) does not end with the boundary (the body was cut short?)")
            }
            guard let disposition = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-disposition:") }),
                  let name = Self.parameter("name", in: String(disposition)) else {
                throw Malformed(description: "part \(parts.count + 1) has no Content-Disposition name")
            }
            parts.append(Part(name: name, filename: Self.parameter("filename", in: String(disposition)),
                              body: body.subdata(in: headersEnd.upperBound..<next.lowerBound)))
            at = next.upperBound
        }
    }

    /// A quoted parameter of a header line (`name="file"`).
    static func parameter(_ key: String, in line: String) -> String? {
        for piece in line.split(separator: ";").dropFirst() {
            let kv = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == key { return kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return nil
    }
}
