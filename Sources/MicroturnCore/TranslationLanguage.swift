/// A language the live translation mode translates into: the name the user says ("translate to
/// Spanish"), its code on the link (a task's `translate` context), and the espeak-ng voice that
/// says the translation on the device or the server.
public struct TranslationLanguage: Sendable, Equatable {
    public let name: String
    public let code: String
    public let voice: String

    /// Kept to a few, since each adds a command phrase the recognizer must tell from the others.
    public static let all = [
        TranslationLanguage(name: "Spanish", code: "es", voice: "es"),
        TranslationLanguage(name: "French", code: "fr", voice: "fr"),
        TranslationLanguage(name: "German", code: "de", voice: "de"),
    ]

    /// The command that starts the mode ("translate to spanish").
    public var command: String { "translate to " + name.lowercased() }
    public static let stopCommand = "stop translating"

    public static func code(_ code: String) -> TranslationLanguage? { all.first { $0.code == code } }
    public static func command(_ phrase: String) -> TranslationLanguage? { all.first { $0.command == phrase } }
}
