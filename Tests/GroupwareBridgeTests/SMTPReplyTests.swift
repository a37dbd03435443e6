import NIOCore
import Testing
@testable import GroupwareBridge

/// RFC 5321 section 4.2 replies: single and multi-line, split anywhere, and what is not a reply.
struct SMTPReplyTests {
    static let ehlo = "250-mail.example.in Hello\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"

    @Test func multiLine() throws {
        var buffer = ByteBuffer(string: Self.ehlo + "220 2.0.0 Ready\r\n")
        let first = try SMTPReply.parse(&buffer)
        let reply = try #require(first)
        #expect(reply.code == 250)
        #expect(reply.lines == ["mail.example.in Hello", "SIZE 35882577", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN"])
        let next = try SMTPReply.parse(&buffer)
        #expect(next == SMTPReply(code: 220, lines: ["2.0.0 Ready"]))
        let none = try SMTPReply.parse(&buffer)
        #expect(none == nil)
        #expect(buffer.readableBytes == 0)
    }

    @Test func lenientForms() throws {
        var buffer = ByteBuffer(string: "250\r\n354 go ahead\n221-bye\r\n221\r\n")
        let replies = try (0..<3).map { _ in try SMTPReply.parse(&buffer) }
        #expect(replies == [
            SMTPReply(code: 250, lines: [""]), SMTPReply(code: 354, lines: ["go ahead"]), SMTPReply(code: 221, lines: ["bye", ""]),
        ])
    }

    /// Every prefix is "need more data" and consumes nothing; byte-by-byte feeding yields the reply.
    @Test func everyPrefixIsIncomplete() throws {
        let bytes = Array(Self.ehlo.utf8)
        for end in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<end])
            let reply = try SMTPReply.parse(&buffer)
            #expect(reply == nil)
            #expect(buffer.readableBytes == end)
        }
        var accumulated = ByteBuffer()
        var replies: [SMTPReply] = []
        for byte in bytes {
            accumulated.writeInteger(byte)
            if let reply = try SMTPReply.parse(&accumulated) { replies.append(reply) }
        }
        #expect(replies.count == 1)
        #expect(replies.first?.lines.count == 5)
    }

    static let garbage = [
        "HTTP/1.1 400 Bad Request\r\n", "SSH-2.0-OpenSSH_9.2\r\n", "\u{16}\u{03}\u{01}\u{02}\u{00}\r\n", "25\r\n",
        "099 low\r\n", "600 high\r\n", "250x\r\n", "250-a\r\n251 b\r\n", "\r\n",
        String(repeating: "250-x\r\n", count: SMTPReply.maxLines + 1),
    ]

    @Test(arguments: garbage)
    func garbageIsAProtocolError(_ text: String) {
        var buffer = ByteBuffer(string: text)
        #expect {
            try SMTPReply.parse(&buffer)
        } throws: { error in
            guard case .protocolError = error as? SMTPError else { return false }
            return true
        }
    }

    @Test func overlongLineWithoutEndIsRejected() {
        var buffer = ByteBuffer(string: "250 " + String(repeating: "x", count: SMTPReply.maxLineLength))
        #expect(throws: SMTPError.self) { try SMTPReply.parse(&buffer) }
    }
}
