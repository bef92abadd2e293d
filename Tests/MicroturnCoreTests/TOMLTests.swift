import MicroturnCore
import Testing
import TestSupport

@Suite(.ownThreads) struct TOMLTests {
    @Test func parsesTablesDottedKeysAndValues() throws {
        let text = """
        # comment
        board_profile = "virtual"
        [audio]
        capture_device = "hw:CARD=Loopback,DEV=1"   # trailing comment
        rate = 48_000
        formats = ["S16_LE",
                   "S32_LE"]
        [speech]
        gain_db = -3.5
        voice.name = 'en-us'
        inline = { a = 1, b = true }
        """
        let entries = try TOMLParser.parse(text)
        let map = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0.value) })
        #expect(map["board_profile"] == .string("virtual"))
        #expect(map["audio.capture_device"] == .string("hw:CARD=Loopback,DEV=1"))
        #expect(map["audio.rate"] == .integer(48000))
        #expect(map["audio.formats"] == .array([.string("S16_LE"), .string("S32_LE")]))
        #expect(map["speech.gain_db"] == .float(-3.5))
        #expect(map["speech.voice.name"] == .string("en-us"))
        #expect(map["speech.inline.a"] == .integer(1))
        #expect(map["speech.inline.b"] == .bool(true))
        #expect(entries.first { $0.path == "audio.rate" }?.line == 5)
    }

    @Test func handlesCRLFAndEscapes() throws {
        let entries = try TOMLParser.parse("[a]\r\nx = \"tab\\there \\u00e9\"\r\ny = 2\r\n")
        #expect(entries.map(\.path) == ["a.x", "a.y"])
        #expect(entries[0].value == .string("tab\there é"))
        #expect(entries[1].line == 3)
    }

    @Test(arguments: [
        ("x = ", 1, "expected a value"),
        ("[a\nx = 1", 1, "expected ']'"),
        ("x = 1\nx = 2", 2, "defined twice"),
        ("x = bare", 1, "strings need quotes"),
        ("x = \"open", 1, "unterminated"),
        ("[[servers]]", 1, "arrays of tables"),
    ])
    func reportsSyntaxErrorsWithLines(text: String, line: Int, fragment: String) {
        #expect {
            try TOMLParser.parse(text)
        } throws: { error in
            guard let e = error as? TOMLSyntaxError else { return false }
            return e.line == line && e.message.contains(fragment)
        }
    }

    /// Nesting is bounded (the parser recurses per level): 32 levels read, 33 are a syntax error,
    /// and ten thousand are the same error, not a stack overflow.
    @Test func nestingIsBounded() throws {
        let ok = try TOMLParser.parse("x = " + String(repeating: "[", count: 32) + String(repeating: "]", count: 32))
        #expect(ok.count == 1)
        for depth in [33, 10_000] {
            #expect {
                try TOMLParser.parse("x = " + String(repeating: "[", count: depth))
            } throws: { error in (error as? TOMLSyntaxError)?.message.contains("nest more than 32") == true }
            #expect(throws: TOMLSyntaxError.self) { try TOMLParser.parse("x = " + String(repeating: "{a = ", count: depth)) }
        }
    }
}
