/// A generic SDP parse tree (RFC 8866): the session-level lines and one `SDPMediaSection` per m-line.
///
/// It checks only the line grammar (`<type>=<value>`, `v=0` first, a well-formed m-line) and the
/// size limits; what the lines mean is for `SDPOffer`. Accepts CRLF or LF line ends and skips
/// blank lines. Control characters other than tab are refused, so every value can be echoed safely.
public struct SessionDescription: Sendable, Hashable {
    /// Largest document we read, in UTF-8 bytes. A meeting participant's offer carries an m-line per track it
    /// receives, and Chromium writes every codec into each (≈ 1.1 KB per audio, ≈ 5 KB per video m-line): about
    /// 300 KB in a meeting of 50, 550 KB with everyone's screen share.
    public static let maximumSize = 768 * 1024
    /// Most m-lines we read: a meeting of 50 needs 2 + 49 × 2, or 2 + 49 × 3 with screen shares.
    public static let maximumMediaSections = 256

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
        let tokenized = Array(text.utf8).withUnsafeBufferPointer { Self.lines(of: $0) }
        let allLines: [SDPLine]
        switch tokenized {
        case .success(let lines): allLines = lines
        case .failure(let error): throw error
        }
        var sessionLines: [SDPLine] = []
        var sections: [(mediaLine: SDPLine, lines: [SDPLine])] = []
        for line in allLines {
            if line.type == "m" {
                guard sections.count < Self.maximumMediaSections else {
                    throw SDPError(.tooManyMediaSections, line: line.number, "more than \(Self.maximumMediaSections) m-lines")
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

    /// Splits UTF-8 bytes into lines (LF or CRLF), skipping blank ones, and checks each is
    /// `<letter>=<value>` without control characters, the first being `v=0`. One pass over the bytes.
    private static func lines(of bytes: UnsafeBufferPointer<UInt8>) -> Result<[SDPLine], SDPError> {
        var lines: [SDPLine] = []
        var number = 0
        var start = 0
        while start < bytes.count {
            number += 1
            var end = start
            var control: UInt8?
            while end < bytes.count {
                let byte = bytes[end]
                if byte == 0x0A { break }
                if control == nil && ((byte < 0x20 && byte != 0x09) || byte == 0x7F) { control = byte }
                end += 1
            }
            let lineStart = start
            start = end + 1
            var lineEnd = end
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D {
                lineEnd -= 1
                // The CR that ends the line is allowed; look again for another control byte.
                if control == 0x0D {
                    control = nil
                    for index in lineStart..<lineEnd where (bytes[index] < 0x20 && bytes[index] != 0x09) || bytes[index] == 0x7F {
                        control = bytes[index]
                        break
                    }
                }
            }
            if lineEnd == lineStart { continue }

            if lines.isEmpty {
                guard lineEnd - lineStart == 3, bytes[lineStart] == UInt8(ascii: "v"),
                      bytes[lineStart + 1] == UInt8(ascii: "="), bytes[lineStart + 2] == UInt8(ascii: "0") else {
                    return .failure(.malformed(line: number, "an SDP starts with v=0"))
                }
            }
            let type = bytes[lineStart]
            guard lineEnd - lineStart >= 2, bytes[lineStart + 1] == UInt8(ascii: "="),
                  type >= UInt8(ascii: "a"), type <= UInt8(ascii: "z") else {
                return .failure(.malformed(line: number, "expected <letter>=<value> (RFC 8866 §5)"))
            }
            if let control {
                return .failure(.malformed(line: number, "control character 0x\(String(control, radix: 16)) inside a line"))
            }
            lines.append(SDPLine(
                type: Character(Unicode.Scalar(type)),
                value: String(decoding: UnsafeBufferPointer(rebasing: bytes[(lineStart + 2)..<lineEnd]), as: UTF8.self),
                number: number
            ))
        }
        return .success(lines)
    }
}
