/// A message or body part (RFC 5322 header and body, RFC 2045/2046 MIME): header fields, the Content-Type, and
/// either a body or, for multipart/*, the parts between the boundary lines, recursively.
///
/// Mail comes from anyone, so reading is lenient where real clients differ (bare LF line ends, header lines
/// without a colon skipped, a missing close-delimiter ends the last part at the end of the input) and bounded
/// where input could cost memory or time (`Limits`: nesting depth, part count). Every path is linear in the
/// input, and nothing traps; failures are `MIMEError`s.
///
/// The body keeps its Content-Transfer-Encoding until `decodedBody()` or `text()` asks, so that one broken
/// attachment does not make the whole message unreadable.
public struct MIMEEntity: Hashable, Sendable {
    public struct Limits: Hashable, Sendable {
        /// multipart inside multipart, the message itself being depth 0.
        public var maximumDepth: Int
        /// Body parts in the whole tree.
        public var maximumParts: Int
        public var maximumHeaderFields: Int

        public init(maximumDepth: Int = 8, maximumParts: Int = 100, maximumHeaderFields: Int = 1000) {
            self.maximumDepth = maximumDepth
            self.maximumParts = maximumParts
            self.maximumHeaderFields = maximumHeaderFields
        }
    }

    public var fields: [MIMEHeaderField]
    public var contentType: MIMEContentType
    /// As in the message (transfer encoding not undone); empty for multipart.
    public var body: [UInt8]
    public var parts: [MIMEEntity]

    public init(parsing bytes: [UInt8], limits: Limits = Limits()) throws(MIMEError) {
        var partCount = 0
        try self.init(bytes[...], depth: 0, partCount: &partCount, limits: limits, defaultType: .default)
    }

    init(
        _ bytes: ArraySlice<UInt8>, depth: Int, partCount: inout Int, limits: Limits, defaultType: MIMEContentType
    ) throws(MIMEError) {
        let (fields, bodyStart) = try Self.header(bytes, limits: limits)
        self.fields = fields
        let typeField = fields.first { $0.matches("Content-Type") }
        contentType = typeField.map { MIMEContentType(parsing: $0.value) } ?? defaultType
        parts = []
        body = []
        let content = bytes[bodyStart...]
        guard contentType.isMultipart else {
            body = Array(content)
            return
        }
        guard depth < limits.maximumDepth else { throw .limitExceeded("multiparts nest deeper than \(limits.maximumDepth)") }
        guard let boundary = contentType.parameter("boundary"), (1...200).contains(boundary.utf8.count) else {
            throw .malformed("\(contentType.mediaType) without a usable boundary parameter")
        }
        // In multipart/digest a part without Content-Type is a message (RFC 2046 section 5.1.5).
        let partDefault = contentType.subtype == "digest"
            ? MIMEContentType(type: "message", subtype: "rfc822") : MIMEContentType.default
        for slice in Self.split(content, boundary: Array(boundary.utf8)) {
            partCount += 1
            guard partCount <= limits.maximumParts else { throw .limitExceeded("more than \(limits.maximumParts) parts") }
            parts.append(try MIMEEntity(slice, depth: depth + 1, partCount: &partCount, limits: limits, defaultType: partDefault))
        }
    }

    /// The first field with this name (case-insensitive), unfolded.
    public func header(_ name: String) -> String? {
        fields.first { $0.matches(name) }?.value
    }

    /// Every part that is not a multipart, in order, this one included when it is a leaf.
    public var leaves: [MIMEEntity] {
        contentType.isMultipart ? parts.flatMap(\.leaves) : [self]
    }

    /// The body with its Content-Transfer-Encoding undone.
    public func decodedBody() throws(MIMEError) -> [UInt8] {
        try MIMETransferDecoding.decode(body, encoding: header("Content-Transfer-Encoding")?.trimmed)
    }

    /// The decoded body as text in its charset (utf-8, us-ascii, iso-8859-1).
    public func text() throws(MIMEError) -> String {
        try MIMETransferDecoding.text(decodedBody(), charset: contentType.parameter("charset"))
    }

    /// The file name from Content-Disposition's filename or Content-Type's name parameter.
    public var fileName: String? {
        header("Content-Disposition").map(MIMEContentType.dispositionParameters)?["filename"] ?? contentType.parameter("name")
    }

    // MARK: parsing

    /// The unfolded fields and where the body starts (after the first empty line; the end when there is none).
    static func header(_ bytes: ArraySlice<UInt8>, limits: Limits) throws(MIMEError) -> ([MIMEHeaderField], Int) {
        var fields: [MIMEHeaderField] = []
        var current: [UInt8]?
        var position = bytes.startIndex
        func finish() {
            guard let line = current, let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
            let name = String(decoding: line[..<colon], as: UTF8.self).trimmed
            guard !name.isEmpty, !name.contains(" ") else { return }  // "From " mbox lines and junk
            fields.append(MIMEHeaderField(name: name, value: String(decoding: line[(colon + 1)...], as: UTF8.self).trimmed))
        }
        while position < bytes.endIndex {
            let lf = bytes[position...].firstIndex(of: 0x0A) ?? bytes.endIndex
            var end = lf
            if end > position, bytes[end - 1] == 0x0D { end -= 1 }
            let next = lf < bytes.endIndex ? lf + 1 : lf
            if end == position {  // the empty line
                finish()
                return (fields, next)
            }
            if bytes[position] == 0x20 || bytes[position] == 0x09, current != nil {
                current! += bytes[position..<end]
            } else {
                finish()
                guard fields.count < limits.maximumHeaderFields else {
                    throw .limitExceeded("more than \(limits.maximumHeaderFields) header fields")
                }
                current = Array(bytes[position..<end])
            }
            position = next
        }
        finish()
        return (fields, bytes.endIndex)
    }

    /// The body parts between "--boundary" lines (RFC 2046 section 5.1.1): the line break before a delimiter
    /// belongs to it, the preamble and epilogue are dropped, and without a close-delimiter the last part runs
    /// to the end (a cut message keeps what arrived).
    static func split(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> [ArraySlice<UInt8>] {
        let delimiter = [UInt8(ascii: "-"), UInt8(ascii: "-")] + boundary
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var previousBreak = body.startIndex  // where the line break before the current line starts
        var position = body.startIndex
        while position < body.endIndex {
            let lf = body[position...].firstIndex(of: 0x0A) ?? body.endIndex
            var end = lf
            if end > position, body[end - 1] == 0x0D { end -= 1 }
            let line = body[position..<end]
            if line.starts(with: delimiter) {
                var rest = line.dropFirst(delimiter.count)
                let close = rest.starts(with: [UInt8(ascii: "-"), UInt8(ascii: "-")])
                if close { rest = rest.dropFirst(2) }
                if rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                    if let start = partStart { parts.append(body[start..<max(start, previousBreak)]) }
                    if close { return parts }
                    partStart = lf < body.endIndex ? lf + 1 : lf
                }
            }
            previousBreak = end
            position = lf < body.endIndex ? lf + 1 : lf
        }
        if let start = partStart { parts.append(body[start..<body.endIndex]) }
        return parts
    }
}

extension MIMEContentType {
    /// The parameters of a Content-Disposition value, which has the same `;name=value` syntax.
    static func dispositionParameters(_ value: String) -> [String: String] {
        MIMEContentType(parsing: "x/x;" + value).parameters
    }
}

extension String {
    var trimmed: String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
