import NIOCore

/// One SMTP reply, RFC 5321 section 4.2: a three-digit code and one or more text lines.
///
///     reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
///
/// Parsing is lenient where servers are sloppy (a bare LF ends a line, a missing SP after the last
/// code) and strict where it matters: every line starts with the same code whose first digit is
/// 2 to 5, lines are at most `maxLineLength` bytes and a reply has at most `maxLines` lines.
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible {
    public static let maxLineLength = 4096
    public static let maxLines = 128

    public let code: Int
    /// The text of each line without code, separator and line end.
    public let lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// Lines joined with a space, for errors and logs.
    public var text: String { lines.joined(separator: " ") }
    public var isPositiveCompletion: Bool { (200..<300).contains(code) }
    public var isPositiveIntermediate: Bool { (300..<400).contains(code) }
    public var description: String { "\(code) \(text)" }

    /// Reads one complete reply from the front of `buffer`. Returns nil and consumes nothing when
    /// the reply is not complete yet; throws `.protocolError` when the bytes are not a reply.
    public static func parse(_ buffer: inout ByteBuffer) throws(SMTPError) -> SMTPReply? {
        let view = buffer.readableBytesView
        var start = view.startIndex
        var code: Int?
        var lines: [String] = []
        while start < view.endIndex {
            guard let lf = view[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                if view.endIndex - start > maxLineLength { throw .protocolError("reply line longer than \(maxLineLength) bytes") }
                return nil
            }
            var end = lf
            if end > start, view[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = view[start..<end]
            guard line.count <= maxLineLength else { throw .protocolError("reply line longer than \(maxLineLength) bytes") }
            guard line.count >= 3, let lineCode = Self.code(line.prefix(3)) else {
                throw .protocolError("not an SMTP reply line: \(Self.printable(line))")
            }
            if let code, code != lineCode { throw .protocolError("reply code changes from \(code) to \(lineCode) within one reply") }
            code = lineCode
            let rest = line.dropFirst(3)
            let separator = rest.first
            guard separator == nil || separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                throw .protocolError("not an SMTP reply line: \(Self.printable(line))")
            }
            lines.append(String(decoding: rest.dropFirst(), as: UTF8.self))
            guard lines.count <= maxLines else { throw .protocolError("reply longer than \(maxLines) lines") }
            start = lf + 1
            if separator != UInt8(ascii: "-") {
                buffer.moveReaderIndex(forwardBy: start - view.startIndex)
                return SMTPReply(code: lineCode, lines: lines)
            }
        }
        return nil
    }

    private static func code(_ digits: some Collection<UInt8>) -> Int? {
        var value = 0
        for (i, d) in digits.enumerated() {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d) else { return nil }
            if i == 0, !(UInt8(ascii: "2")...UInt8(ascii: "5")).contains(d) { return nil }
            value = value * 10 + Int(d - UInt8(ascii: "0"))
        }
        return value
    }

    /// At most 40 bytes, control bytes escaped: enough to diagnose, never a whole message.
    private static func printable(_ bytes: some Collection<UInt8>) -> String {
        String(bytes.prefix(40).map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "?" })
    }
}
