import NIOCore
import Testing
@testable import GroupwareBridge
import FoundationEssentials

/// RFC 5321 section 4.5.2 transparency and the terminator.
struct SMTPDataEncoderTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var input: String
        var wire: String
        var testDescription: String { input.debugDescription }
    }

    static let rows: [Row] = [
        Row(input: "", wire: ".\r\n"),
        Row(input: "a\r\n", wire: "a\r\n.\r\n"),
        Row(input: "a", wire: "a\r\n.\r\n"),
        Row(input: ".\r\n", wire: "..\r\n.\r\n"),
        Row(input: "a\r\n.\r\nb\r\n", wire: "a\r\n..\r\nb\r\n.\r\n"),
        Row(input: "..x\r\n.y", wire: "...x\r\n..y\r\n.\r\n"),
        Row(input: "x.\r\n a.b\r\n", wire: "x.\r\n a.b\r\n.\r\n"),
        Row(input: "bare\nlf\n.x\n", wire: "bare\r\nlf\r\n..x\r\n.\r\n"),
        Row(input: "bare\rcr\r\r.x", wire: "bare\r\ncr\r\n\r\n..x\r\n.\r\n"),
        Row(input: "end\r", wire: "end\r\n.\r\n"),
    ]

    @Test(arguments: rows)
    func encodes(_ row: Row) {
        #expect(String(buffer: SMTPDataEncoder.encode(Array(row.input.utf8))) == row.wire)
    }

    /// What a receiver does (strip one leading "." per line, stop at ".") gives back a CRLF message.
    @Test func receiverUndoesTheStuffing() {
        let message = "From: a@b.in\r\n\r\n.\r\n..\r\n.hidden\r\nplain\r\n"
        let wire = String(buffer: SMTPDataEncoder.encode(Array(message.utf8)))
        var lines = wire.components(separatedBy: "\r\n")
        #expect(lines.removeLast() == "")
        #expect(lines.removeLast() == ".")
        let restored = lines.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }.joined(separator: "\r\n") + "\r\n"
        #expect(restored == message)
    }
}
