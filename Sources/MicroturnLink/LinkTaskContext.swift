/// Keys of a TASK's `context` (PROTOCOL.md).
public enum LinkTaskContext {
    /// The task is a segment of live translation: translate what was said into the language with
    /// this code ("es"), and nothing else (no tools, no conversation memory).
    public static let translate = "translate"
}
