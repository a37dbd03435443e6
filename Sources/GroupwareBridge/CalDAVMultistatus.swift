import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A WebDAV `DAV:multistatus` body (RFC 4918 section 14.16) as the CalDAV client needs it: each
/// `DAV:response` with its hrefs, its own status and the properties of its `propstat`s, plus the
/// top-level `DAV:sync-token` of a sync-collection report (RFC 6578 section 6.4).
///
/// Parsing is bounded and never traps: bodies over `maximumBytes`, documents with a DTD (the only
/// way to get entity expansion), nesting deeper than `maximumDepth`, malformed or truncated XML and
/// documents whose root is not `DAV:multistatus` all throw `CalDAVError.badResponse`.
struct CalDAVMultistatus: Sendable, Equatable {
    /// An element name with its namespace, e.g. (`DAV:`, `getetag`).
    struct Name: Sendable, Hashable, CustomStringConvertible {
        var namespace: String
        var local: String

        static let dav = "DAV:"
        static let calDAV = "urn:ietf:params:xml:ns:caldav"
        static let calendarServer = "http://calendarserver.org/ns/"

        static let multistatus = Name(namespace: dav, local: "multistatus")
        static let response = Name(namespace: dav, local: "response")
        static let propStat = Name(namespace: dav, local: "propstat")
        static let prop = Name(namespace: dav, local: "prop")
        static let href = Name(namespace: dav, local: "href")
        static let status = Name(namespace: dav, local: "status")
        static let getETag = Name(namespace: dav, local: "getetag")
        static let syncToken = Name(namespace: dav, local: "sync-token")
        static let resourceType = Name(namespace: dav, local: "resourcetype")
        static let collection = Name(namespace: dav, local: "collection")
        static let calendar = Name(namespace: calDAV, local: "calendar")
        static let calendarData = Name(namespace: calDAV, local: "calendar-data")
        static let getCTag = Name(namespace: calendarServer, local: "getctag")

        var description: String { "{\(namespace)}\(local)" }
    }

    /// One property as found inside `DAV:prop`.
    struct Property: Sendable, Equatable {
        /// Character data directly inside the element, exactly as the parser reported it.
        var text: String
        /// Names of the child elements (what `DAV:resourcetype` carries).
        var children: [Name]
    }

    /// One `DAV:propstat`: the properties that share `status`.
    struct PropStat: Sendable, Equatable {
        var status: Int?
        var properties: [Name: Property]
    }

    /// One `DAV:response`.
    struct Response: Sendable, Equatable {
        /// Trimmed, in the server's form (percent-encoding untouched).
        var hrefs: [String]
        /// The response-level status (deleted members in a sync report, 404s in a multiget).
        var status: Int?
        var propStats: [PropStat]

        var href: String? { hrefs.first }

        /// A property from a propstat whose status is 2xx.
        func property(_ name: Name) -> Property? {
            for propStat in propStats where (200..<300).contains(propStat.status ?? 200) {
                if let property = propStat.properties[name] { return property }
            }
            return nil
        }

        /// A property's text with surrounding whitespace removed (ETags, ctags, tokens); nil when absent or empty.
        func value(_ name: Name) -> String? {
            guard let text = property(name)?.text.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                return nil
            }
            return text
        }
    }

    static let defaultMaximumBytes = 16 << 20
    static let maximumDepth = 32

    var responses: [Response]
    /// The new token of a sync-collection report.
    var syncToken: String?

    init(responses: [Response], syncToken: String? = nil) {
        self.responses = responses
        self.syncToken = syncToken
    }

    init(parsing bytes: some Collection<UInt8>, maximumBytes: Int = defaultMaximumBytes) throws(CalDAVError) {
        guard bytes.count <= maximumBytes else {
            throw .badResponse("multistatus body of \(bytes.count) bytes exceeds the limit of \(maximumBytes)")
        }
        // FoundationXML runs libxml2 in recovery mode, which passes names with invalid UTF-8 on to
        // Swift code that force-unwraps them: only valid UTF-8 goes in.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw .badResponse("multistatus body is not UTF-8")
        }
        let data = Data(bytes)
        let contentStart = try Self.refuseUnsupportedMarkup(data)
        let builder = Builder()
        // libxml2 gets the body without its XML declaration: the bytes are UTF-8 (checked above), and a
        // declared encoding would make it switch decoders; `encoding="utf-7"` then crashes it (SEGV in
        // xmlSwitchToEncoding, Tests/GroupwareBridgeTests/Regressions/caldav/utf7-declaration-segv).
        let parser = XMLParser(data: data.subdata(in: contentStart..<data.count))
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        let parsed = parser.parse()
        if let failure = builder.failure { throw .badResponse(failure) }
        guard parsed else {
            let error = parser.parserError.map { " (\(($0 as NSError).code))" } ?? ""
            throw .badResponse("multistatus body is not well-formed XML\(error)")
        }
        guard builder.sawRoot else { throw .badResponse("multistatus body is empty") }
        self.init(responses: builder.responses, syncToken: builder.syncToken)
    }

    /// Refuses what a multistatus never needs and FoundationXML does not survive or should not see:
    /// processing instructions (one without data makes FoundationXML on Linux call strlen on NULL)
    /// and `<!` declarations such as a DTD (the only way to get entity expansion). Text inside
    /// comments and CDATA sections is skipped, so calendar data may contain anything. Returns where the
    /// content starts: after the byte-order mark and the XML declaration, if any.
    @discardableResult
    static func refuseUnsupportedMarkup(_ data: Data) throws(CalDAVError) -> Int {
        let bytes = [UInt8](data)
        func starts(_ prefix: String, at index: Int) -> Bool {
            let prefix = Array(prefix.utf8)
            return index + prefix.count <= bytes.count && bytes[index..<index + prefix.count].elementsEqual(prefix)
        }
        /// The index just past `terminator` from `index`, or the end when it never comes (libxml2 then reports the truncation).
        func skip(to terminator: String, from index: Int) -> Int {
            let terminator = Array(terminator.utf8)
            guard let range = bytes[index...].firstRange(of: terminator) else { return bytes.count }
            return range.upperBound
        }
        var index = 0
        if starts("\u{FEFF}", at: 0) { index = 3 }
        // The XML declaration is the one "<?" allowed, and only at the very start.
        if starts("<?xml", at: index), index + 5 < bytes.count, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[index + 5]) {
            let end = skip(to: "?>", from: index + 5)
            guard !bytes[(index + 5)..<end].contains(UInt8(ascii: "<")) else {
                throw .badResponse("multistatus body has a malformed XML declaration")
            }
            index = end
        }
        let contentStart = index
        while index < bytes.count {
            guard let open = bytes[index...].firstIndex(of: UInt8(ascii: "<")) else { return contentStart }
            if starts("<![CDATA[", at: open) {
                index = skip(to: "]]>", from: open + 9)
            } else if starts("<!--", at: open) {
                index = skip(to: "-->", from: open + 4)
            } else if starts("<?", at: open) {
                throw .badResponse("multistatus body contains a processing instruction")
            } else if starts("<!", at: open) {
                throw .badResponse("multistatus body contains a declaration (DTD)")
            } else {
                index = open + 1
            }
        }
        return contentStart
    }

    /// Receives XMLParser events; keeps a stack of open elements and fills in the current response.
    private final class Builder: NSObject, XMLParserDelegate {
        var responses: [Response] = []
        var syncToken: String?
        var failure: String?
        var sawRoot = false

        private struct Open {
            var name: Name
            var text = ""
            var children: [Name] = []
        }
        private var stack: [Open] = []
        private var response: Response?
        private var propStat: PropStat?

        private func fail(_ parser: XMLParser, _ why: String) {
            if failure == nil { failure = why }
            parser.abortParsing()
        }

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
            attributes attributeDict: [String: String] = [:]
        ) {
            guard failure == nil else { return }
            let name = Name(namespace: namespaceURI ?? "", local: elementName)
            if stack.isEmpty {
                guard !sawRoot else { return fail(parser, "more than one root element") }
                guard name == .multistatus else {
                    return fail(parser, "root element is \(name), not {DAV:}multistatus")
                }
                sawRoot = true
            }
            guard stack.count < CalDAVMultistatus.maximumDepth else {
                return fail(parser, "multistatus nests deeper than \(CalDAVMultistatus.maximumDepth) elements")
            }
            if !stack.isEmpty { stack[stack.count - 1].children.append(name) }
            stack.append(Open(name: name))
            switch path {
            case [.multistatus, .response]:
                response = Response(hrefs: [], status: nil, propStats: [])
            case [.multistatus, .response, .propStat]:
                propStat = PropStat(status: nil, properties: [:])
            default:
                break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard failure == nil, !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            guard failure == nil, !stack.isEmpty else { return }
            guard let string = String(data: CDATABlock, encoding: .utf8) else {
                return fail(parser, "CDATA section is not UTF-8")
            }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            guard failure == nil, !stack.isEmpty else { return }
            let path = self.path
            let element = stack.removeLast()
            let trimmed = element.text.trimmingCharacters(in: .whitespacesAndNewlines)
            switch path {
            case [.multistatus, .syncToken]:
                syncToken = trimmed
            case [.multistatus, .response, .href]:
                response?.hrefs.append(trimmed)
            case [.multistatus, .response, .status]:
                response?.status = Self.statusCode(trimmed)
            case [.multistatus, .response, .propStat, .status]:
                propStat?.status = Self.statusCode(trimmed)
            case [.multistatus, .response, .propStat]:
                if let propStat { response?.propStats.append(propStat) }
                propStat = nil
            case [.multistatus, .response]:
                if let response { responses.append(response) }
                response = nil
            default:
                if path.count == 5, path.prefix(4).elementsEqual([
                    Name.multistatus, .response, .propStat, .prop,
                ]) {
                    propStat?.properties[element.name] = Property(text: element.text, children: element.children)
                }
            }
        }

        /// Stops at the first error: recovery mode would go on with whatever libxml2 made of the rest.
        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            fail(parser, "multistatus body is not well-formed XML (libxml2 error \((parseError as NSError).code))")
        }

        /// The open elements from the root.
        private var path: [Name] { stack.map(\.name) }

        /// "HTTP/1.1 200 OK" → 200.
        static func statusCode(_ line: String) -> Int? {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[1].count == 3 else { return nil }
            return Int(parts[1])
        }
    }
}
