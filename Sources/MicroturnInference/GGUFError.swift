/// What is wrong with a model file, naming the key or tensor, and what to do about it.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case badMagic(path: String, found: String)
    case unsupportedVersion(path: String, version: UInt32)
    /// The file ends inside something it announced.
    case truncated(path: String, reading: String, at: Int, fileSize: Int)
    case badMetadata(path: String, key: String, reason: String)
    case badTensor(path: String, tensor: String, reason: String)
    case missingMetadata(path: String, key: String, architecture: String)
    /// More positions than the model's `context_length` were asked of it.
    case contextFull(path: String, contextLength: Int, asked: Int)
    /// A token id the vocabulary does not have.
    case unknownToken(path: String, token: Int, vocabulary: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            "\(path): cannot open the model file (\(reason))"
        case let .badMagic(path, found):
            "\(path): not a GGUF model file (it starts with \(found), not \"GGUF\"); convert the model with llama.cpp's convert_hf_to_gguf.py"
        case let .unsupportedVersion(path, version):
            "\(path): GGUF version \(version) is not supported (versions 2 and 3 are); re-convert the model with a current llama.cpp"
        case let .truncated(path, reading, at, fileSize):
            "\(path): the file is cut short: reading \(reading) at byte \(at), but the file has \(fileSize) bytes; download or copy it again"
        case let .badMetadata(path, key, reason):
            "\(path): metadata '\(key)': \(reason)"
        case let .badTensor(path, tensor, reason):
            "\(path): tensor '\(tensor)': \(reason)"
        case let .missingMetadata(path, key, architecture):
            "\(path): metadata '\(key)' is missing, and architecture '\(architecture)' needs it; the file was not converted for this architecture"
        case let .contextFull(path, contextLength, asked):
            "\(path): \(asked) positions do not fit the model's context of \(contextLength) tokens (its context_length); use a shorter prompt or fewer tokens"
        case let .unknownToken(path, token, vocabulary):
            "\(path): token \(token) is outside the model's vocabulary (0..<\(vocabulary))"
        }
    }
}
