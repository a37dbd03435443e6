import Testing
@testable import GroupwareBridge

/// How LOGIN and EXAMINE arguments go on the wire (RFC 3501 section 4.3).
@Suite struct IMAPSessionTests {
    @Test func quotedStringsEscapeBackslashAndQuote() {
        #expect(IMAPSession.quoted(#"pa"ss\word"#) == Array(#""pa\"ss\\word""#.utf8))
        #expect(IMAPSession.canQuote("plain ascii: with spaces"))
    }

    @Test(arguments: ["pä ss", "line\r\nbreak", "nul\u{0}byte", "ok\n"])
    func textQuotingCannotCarryGoesAsALiteral(_ text: String) {
        #expect(!IMAPSession.canQuote(text))
    }
}
