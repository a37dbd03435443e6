/// A generic SDP parse tree (RFC 8866): the session-level lines and one `SDPMediaSection` per m-line.
///
/// It checks only the line grammar (`<type>=<value>`, `v=0` first, a well-formed m-line) and the
/// size limits; what the lines mean is for `SDPOffer`. Accepts CRLF or LF line ends and skips
/// blank lines. Control characters other than tab are refused, so every value can be echoed safely.
public struct SessionDescription: Sendable, Hashable {
    /// Largest document we read, in UTF-8 bytes.
    public static let maximumSize = 64 * 1024
    /// Most m-lines we read.
    public static let maximumMediaSections = 64

    /// Session-level lines, from `v=` up to the first m-line.
    public var lines: [SDPLine]
    /// The `a=` lines among `lines`.
    public var attributes: [SDPAttribute]
    public var media: [SDPMediaSection]

    public init(parsing text: String) throws(SDPError) {
        let size = text.utf8.count
        guard size <= Self.maximumSize else {
            throw SDPError(.tooLarge, "the SDP is \(size) bytes; at most \(Self.maximumSize) are accepted")
        }
        let bytes = Array(text.utf8)
        var sessionLines: [SDPLine] = []
        var sections: [(mediaLine: SDPLine, lines: [SDPLine])] = []
        var number = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            number += 1
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let lineStart = start
            start = end + 1
            if lineEnd == lineStart { continue }

            if sessionLines.isEmpty && sections.isEmpty {
                guard lineEnd - lineStart == 3, bytes[lineStart] == UInt8(ascii: "v"),
                      bytes[lineStart + 1] == UInt8(ascii: "="), bytes[lineStart + 2] == UInt8(ascii: "0") else {
                    throw .malformed(line: number, "an SDP starts with v=0")
                }
            }
            let type = bytes[lineStart]
            guard lineEnd - lineStart >= 2, bytes[lineStart + 1] == UInt8(ascii: "="),
                  type >= UInt8(ascii: "a"), type <= UInt8(ascii: "z") else {
                throw .malformed(line: number, "expected <letter>=<value> (RFC 8866 §5)")
            }
            for index in (lineStart + 2)..<lineEnd {
                let byte = bytes[index]
                if (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                    throw .malformed(line: number, "control character 0x\(String(byte, radix: 16)) inside a line")
                }
            }
            let line = SDPLine(
                type: Character(Unicode.Scalar(type)),
                value: String(decoding: bytes[(lineStart + 2)..<lineEnd], as: UTF8.self),
                number: number
            )
            if line.type == "m" {
                guard sections.count < Self.maximumMediaSections else {
                    throw SDPError(.tooManyMediaSections, line: number, "more than \(Self.maximumMediaSections) m-lines")
                }
                sections.append((line, []))
            } else if sections.isEmpty {
                sessionLines.append(line)
            } else {
                sections[sections.count - 1].lines.append(line)
            }
        }
        guard !sessionLines.isEmpty else {
            throw .malformed(line: nil, "the SDP is empty")
        }
        lines = sessionLines
        attributes = sessionLines.filter { $0.type == "a" }.map(SDPAttribute.init)
        var media: [SDPMediaSection] = []
        media.reserveCapacity(sections.count)
        for section in sections {
            media.append(try SDPMediaSection(mediaLine: section.mediaLine, lines: section.lines))
        }
        self.media = media
    }
}
