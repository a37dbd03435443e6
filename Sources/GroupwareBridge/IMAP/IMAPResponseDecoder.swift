import NIOCore

/// Cuts server bytes into `IMAPResponse`s (RFC 3501 section 7 and 4.3): a response is a line ending in CRLF,
/// extended by a literal whenever a line ends in `{n}` (or `{n+}`, RFC 7888), after which the n bytes and the
/// rest of the response follow.
///
/// Bounded so that a hostile or broken server costs an error, not memory: a line longer than
/// `maximumLineLength` (64 KiB) is malformed, a literal over `maximumLiteralSize` is refused as soon as its
/// `{n}` is seen (before its bytes are buffered), and so are more than `maximumLiterals` literals or more literal
/// bytes than `maximumLiteralSize` in one response. Bare LF line ends are accepted.
///
/// `decode` leaves the buffer untouched until a whole response is there; it rescans the lines (not the literal
/// bytes, which it skips by their length) when more arrives.
public struct IMAPResponseDecoder: Sendable {
    public var maximumLineLength: Int
    public var maximumLiteralSize: Int
    public var maximumLiterals: Int

    public init(maximumLineLength: Int = 64 << 10, maximumLiteralSize: Int = 4 << 20, maximumLiterals: Int = 64) {
        self.maximumLineLength = maximumLineLength
        self.maximumLiteralSize = maximumLiteralSize
        self.maximumLiterals = maximumLiterals
    }

    /// The next whole response, consumed from `buffer`; nil when more bytes are needed.
    public func decode(_ buffer: inout ByteBuffer) throws(IMAPError) -> IMAPResponse? {
        let scanned: Result<(IMAPResponse, Int)?, IMAPError> = buffer.withUnsafeReadableBytes { bytes in
            do throws(IMAPError) {
                guard let layout = try scan(bytes) else { return .success(nil) }
                return .success((try build(bytes, layout), layout.end))
            } catch {
                return .failure(error)
            }
        }
        guard let (response, consumed) = try scanned.get() else { return nil }
        buffer.moveReaderIndex(forwardBy: consumed)
        return response
    }

    /// Where one response's lines and literals lie, found without copying.
    struct Layout {
        var lines: [Range<Int>] = []
        var literals: [Range<Int>] = []
        var end = 0
    }

    func scan(_ bytes: UnsafeRawBufferPointer) throws(IMAPError) -> Layout? {
        var layout = Layout()
        var position = 0
        var literalBytes = 0
        while true {
            let searchEnd = min(bytes.count, position + maximumLineLength + 2)
            guard let lf = bytes[position..<searchEnd].firstIndex(of: 0x0A) else {
                if searchEnd - position > maximumLineLength + 1 {
                    throw .malformedResponse("a line longer than \(maximumLineLength) bytes")
                }
                return nil
            }
            var lineEnd = lf
            if lineEnd > position, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            layout.lines.append(position..<lineEnd)
            position = lf + 1
            guard let length = try Self.literalLength(bytes[layout.lines.last!], limit: maximumLiteralSize) else { break }
            literalBytes += length
            guard literalBytes <= maximumLiteralSize else { throw .literalTooLarge(literalBytes) }
            guard layout.literals.count < maximumLiterals else {
                throw .malformedResponse("more than \(maximumLiterals) literals in one response")
            }
            guard bytes.count - position >= length else { return nil }
            layout.literals.append(position..<(position + length))
            position += length
        }
        layout.end = position
        return layout
    }

    func build(_ bytes: UnsafeRawBufferPointer, _ layout: Layout) throws(IMAPError) -> IMAPResponse {
        var text: [UInt8] = []
        for line in layout.lines { text.append(contentsOf: bytes[line]) }
        let literals = layout.literals.map { Array(bytes[$0]) }
        let space = UInt8(ascii: " ")
        if text.starts(with: [UInt8(ascii: "*"), space]) {
            return IMAPResponse(kind: .untagged, text: Array(text.dropFirst(2)), literals: literals)
        }
        if text.first == UInt8(ascii: "+") {
            return IMAPResponse(kind: .continuation, text: Array(text.dropFirst(text.count > 1 && text[1] == space ? 2 : 1)),
                                literals: literals)
        }
        guard let tagEnd = text.firstIndex(of: space), tagEnd > 0,
              text[..<tagEnd].allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "*") && $0 != UInt8(ascii: "+") })
        else {
            throw .malformedResponse("not an IMAP response: '\(String(decoding: text.prefix(40), as: UTF8.self))'")
        }
        let tag = String(decoding: text[..<tagEnd], as: UTF8.self)
        return IMAPResponse(kind: .tagged(tag), text: Array(text[(tagEnd + 1)...]), literals: literals)
    }

    /// n when the line ends in "{n}" or "{n+}"; a literal over `limit` throws before its bytes arrive.
    static func literalLength(_ line: UnsafeRawBufferPointer.SubSequence, limit: Int) throws(IMAPError) -> Int? {
        guard line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
        var digits = line[(open + 1)..<(line.endIndex - 1)]
        if digits.last == UInt8(ascii: "+") { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard digits.count <= 10 else { throw .literalTooLarge(Int.max) }
        let length = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard length <= limit else { throw .literalTooLarge(length) }
        return length
    }
}
