import Foundation
import Testing
@testable import GroupwareBridge
import GroupwareTestSupport
import SabhaTestSupport

/// The multistatus parser on its own: what Radicale and other servers send, and garbage.
struct CalDAVMultistatusTests {
    typealias Name = CalDAVMultistatus.Name

    /// A sync-collection answer as Radicale 3.9 sends it (default namespace, one removal).
    static let radicaleSync = """
        <?xml version='1.0' encoding='utf-8'?>
        <multistatus xmlns="DAV:"><sync-token>http://radicale.org/ns/sync/e055</sync-token>\
        <response><href>/alice/calendar/m-abc.ics</href><status>HTTP/1.1 404 Not Found</status></response>\
        <response><href>/alice/calendar/a%20b%40c.ics</href><propstat><prop><getetag>"1938"</getetag></prop>\
        <status>HTTP/1.1 200 OK</status></propstat></response></multistatus>
        """

    @Test func radicaleSyncReport() throws {
        let multistatus = try CalDAVMultistatus(parsing: Array(Self.radicaleSync.utf8))
        #expect(multistatus.syncToken == "http://radicale.org/ns/sync/e055")
        #expect(multistatus.responses.count == 2)
        #expect(multistatus.responses[0].hrefs == ["/alice/calendar/m-abc.ics"])
        #expect(multistatus.responses[0].status == 404)
        #expect(multistatus.responses[0].propStats.isEmpty)
        #expect(multistatus.responses[1].href == "/alice/calendar/a%20b%40c.ics")
        #expect(multistatus.responses[1].status == nil)
        #expect(multistatus.responses[1].value(.getETag) == "\"1938\"")
    }

    /// Prefixes are the server's choice; only namespaces count. Properties of a 404 propstat are not values.
    @Test func prefixedNamespacesAndFailedPropStats() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <D:multistatus xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/" xmlns:X="urn:other">
              <D:response>
                <D:href> /cal/ </D:href>
                <D:propstat>
                  <D:prop>
                    <CS:getctag> "ctag-1" </CS:getctag>
                    <D:resourcetype><D:collection/><cal:calendar xmlns:cal="urn:ietf:params:xml:ns:caldav"/></D:resourcetype>
                    <X:getetag>not DAV</X:getetag>
                  </D:prop>
                  <D:status>HTTP/1.1 200 OK</D:status>
                </D:propstat>
                <D:propstat>
                  <D:prop><D:sync-token/><D:getetag>"hidden"</D:getetag></D:prop>
                  <D:status>HTTP/1.1 404 Not Found</D:status>
                </D:propstat>
              </D:response>
            </D:multistatus>
            """
        let multistatus = try CalDAVMultistatus(parsing: Array(xml.utf8))
        let response = try #require(multistatus.responses.first)
        #expect(response.href == "/cal/")
        #expect(response.value(.getCTag) == "\"ctag-1\"")
        #expect(response.property(.resourceType)?.children == [.collection, .calendar])
        #expect(response.value(.getETag) == nil)
        #expect(response.value(.syncToken) == nil)
        #expect(response.propStats.map(\.status) == [200, 404])
        #expect(multistatus.syncToken == nil)
    }

    /// calendar-data keeps its text exactly: entities decoded, CDATA joined, no trimming.
    @Test func calendarDataTextIsKeptAsIs() throws {
        let xml = """
            <d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/c/e.ics</d:href>\
            <d:propstat><d:prop><d:getetag>"e"</d:getetag><c:calendar-data>BEGIN:VCALENDAR&#13;
            SUMMARY:R&amp;D &lt;review&gt;&#13;
            <![CDATA[DESCRIPTION:a <b> & c]]>&#13;
            END:VCALENDAR&#13;
            </c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>
            """
        let response = try #require(try CalDAVMultistatus(parsing: Array(xml.utf8)).responses.first)
        #expect(response.property(.calendarData)?.text
            == "BEGIN:VCALENDAR\r\nSUMMARY:R&D <review>\r\nDESCRIPTION:a <b> & c\r\nEND:VCALENDAR\r\n")
    }

    @Test func emptyMultistatusHasNoResponses() throws {
        let multistatus = try CalDAVMultistatus(parsing: Array(#"<multistatus xmlns="DAV:"/>"#.utf8))
        #expect(multistatus == CalDAVMultistatus(responses: []))
    }

    @Test(arguments: [
        "", " ", "not xml at all", "<", "<?xml version=\"1.0\"?>", "<html><body>502 Bad Gateway</body></html>",
        #"<multistatus xmlns="urn:not-dav"/>"#, #"<error xmlns="DAV:"><valid-sync-token/></error>"#,
        #"<multistatus xmlns="DAV:"><response></multistatus>"#, #"<multistatus xmlns="DAV:"/><multistatus xmlns="DAV:"/>"#,
        #"<multistatus xmlns="DAV:"><href>&undefined;</href></multistatus>"#, #"<d:multistatus xmlns:x="DAV:"/>"#,
        "\u{FEFF}\u{0}\u{1}<multistatus/>",
    ])
    func garbageIsABadResponse(input: String) {
        #expect(throws: CalDAVError.self) { try CalDAVMultistatus(parsing: Array(input.utf8)) }
        do {
            _ = try CalDAVMultistatus(parsing: Array(input.utf8))
        } catch {
            guard case .badResponse = error else { Issue.record("got \(error)"); return }
        }
    }

    /// Every proper prefix of a valid document is incomplete XML.
    @Test func everyTruncationIsABadResponse() {
        let bytes = Array(Self.radicaleSync.utf8)
        for length in 0..<bytes.count {
            do {
                _ = try CalDAVMultistatus(parsing: bytes[0..<length])
                Issue.record("a prefix of \(length) bytes parsed")
            } catch {
                guard case .badResponse = error else { Issue.record("got \(error)"); return }
            }
        }
    }

    /// Random bytes, and random corruptions of a valid document, never trap.
    @Test func randomInputNeverCrashes() {
        var generator = SplitMix64(seed: 0xCA1DA5)
        let valid = Array(Self.radicaleSync.utf8)
        for round in 0..<400 {
            var input: [UInt8]
            if round.isMultiple(of: 2) {
                input = (0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                input = valid
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    input[Int.random(in: 0..<input.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            do {
                _ = try CalDAVMultistatus(parsing: input)
            } catch {
                guard case .badResponse = error else { Issue.record("got \(error)"); return }
            }
        }
    }

    /// Valid UTF-8 that splices XML fragments into a valid document: what reaches libxml2 and the
    /// FoundationXML callbacks after the UTF-8 check. Anything may come out, but never a trap.
    @Test func splicedXMLFragmentsNeverCrash() {
        let fragments = [
            "<", ">", "</", "/>", "&", ";", "&amp;", "&#0;", "&#xD800;", "&#x10FFFF;", "&#13;", "&lt", "<![CDATA[", "]]>",
            "<!--", "-->", "<?pi x?>", "<?xml version=\"1.0\"?>", " xmlns=\"\"", " xmlns:d=\"DAV:\"", " xmlns:=\"x\"",
            " a=\"1\" a=\"2\"", "d:", ":", "é", "\u{0}", "\u{1}", "\u{FEFF}", "\u{10FFFF}", "मंथन", "\r\n", "\"", "'", "=",
            "<?p?>", "<?p x?>", "<!---->", "<!-- <?p?> -->", "<!DOCTYPE m>", "<!ELEMENT", "<?xml ", "<![CDATA[<?p?>]]>",
            "<response>", "</response>", "<href>", "</href>", "<propstat>", "<prop>", "<getetag>", "</multistatus>",
        ]
        var generator = SplitMix64(seed: 0x5AB4A)
        let valid = Self.radicaleSync
        for _ in 0..<3000 {
            var input = Array(valid.unicodeScalars)
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let position = Int.random(in: 0...input.count, using: &generator)
                if Bool.random(using: &generator), position < input.count {
                    input.removeSubrange(position..<min(input.count, position + Int.random(in: 1...12, using: &generator)))
                } else {
                    input.insert(contentsOf: fragments.randomElement(using: &generator)!.unicodeScalars, at: position)
                }
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: input)
            do {
                _ = try CalDAVMultistatus(parsing: Array(text.utf8))
            } catch {
                guard case .badResponse = error else { Issue.record("got \(error)"); return }
            }
        }
    }

    @Test func invalidUTF8IsRefusedBeforeParsing() {
        var bytes = Array(Self.radicaleSync.utf8)
        bytes[bytes.firstRange(of: Array("getetag".utf8))!.lowerBound] = 0xDF  // "<getetag>" becomes "<\xDFetetag>"
        #expect(throws: CalDAVError.badResponse("multistatus body is not UTF-8")) { try CalDAVMultistatus(parsing: bytes) }
    }

    @Test func oversizedBodyIsRefusedBeforeParsing() {
        let bytes = Array(Self.radicaleSync.utf8)
        #expect(throws: CalDAVError.badResponse("multistatus body of \(bytes.count) bytes exceeds the limit of 100")) {
            try CalDAVMultistatus(parsing: bytes, maximumBytes: 100)
        }
        #expect(CalDAVMultistatus.defaultMaximumBytes == 16 << 20)
    }

    /// Entity expansion needs a DTD; a multistatus never has one.
    @Test func documentTypeDeclarationsAreRefused() {
        let laughs = """
            <?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
            <multistatus xmlns="DAV:"><sync-token>&b;</sync-token></multistatus>
            """
        #expect(throws: CalDAVError.badResponse("multistatus body contains a declaration (DTD)")) {
            try CalDAVMultistatus(parsing: Array(laughs.utf8))
        }
    }

    /// FoundationXML on Linux crashes on a processing instruction without data; none gets through.
    @Test(arguments: ["<?p?>", "<?p x?>", "<?xml-stylesheet href=\"x\"?>"])
    func processingInstructionsAreRefused(instruction: String) {
        let xml = #"<?xml version="1.0"?><multistatus xmlns="DAV:"><response><href>/x\#(instruction)</href></response></multistatus>"#
        #expect(throws: CalDAVError.badResponse("multistatus body contains a processing instruction")) {
            try CalDAVMultistatus(parsing: Array(xml.utf8))
        }
        // Not hidden inside an unfinished XML declaration either.
        #expect(throws: CalDAVError.self) {
            try CalDAVMultistatus(parsing: Array(#"<?xml version="1.0" \#(instruction)<multistatus xmlns="DAV:"/>"#.utf8))
        }
    }

    /// Markup-like text in comments and CDATA is text: the check looks past it.
    @Test func commentsAndCDATAMayContainAnything() throws {
        let xml = """
            \u{FEFF}<?xml version="1.0" encoding="utf-8"?><!-- <?p?> <!DOCTYPE x> --><multistatus xmlns="DAV:" \
            xmlns:c="urn:ietf:params:xml:ns:caldav"><response><href>/c/e.ics</href><propstat><prop>\
            <c:calendar-data><![CDATA[DESCRIPTION:<?php echo 1; ?> <!DOCTYPE html>]]></c:calendar-data></prop>\
            <status>HTTP/1.1 200 OK</status></propstat></response></multistatus>
            """
        let response = try #require(try CalDAVMultistatus(parsing: Array(xml.utf8)).responses.first)
        #expect(response.property(.calendarData)?.text == "DESCRIPTION:<?php echo 1; ?> <!DOCTYPE html>")
    }

    /// The body is read as the UTF-8 it was checked to be, whatever encoding its declaration names: libxml2,
    /// told `utf-7`, crashed on the first byte its UTF-7 decoder refused (found by the caldav fuzz target).
    @Test(arguments: ["utf-7", "UTF-16", "ISO-8859-1", "x-unknown"])
    func declaredEncodingsAreNotObeyed(encoding: String) throws {
        let xml = #"<?xml version="1.0" encoding="\#(encoding)"?><multistatus xmlns="DAV:"><response><href>/a+AGA-é</href>"#
            + #"</response></multistatus>"#
        #expect(try CalDAVMultistatus(parsing: Array(xml.utf8)).responses.first?.href == "/a+AGA-é")
        let broken = #"<?xml version="1.0" encoding="\#(encoding)"?><multistatus xmlns="DAV:"><response><href>/a+AGA-</href>"#
            + "</response>\u{1}</multistatus>"
        #expect(throws: CalDAVError.self) { try CalDAVMultistatus(parsing: Array(broken.utf8)) }
    }

    @Test func deepNestingIsRefused() {
        let depth = CalDAVMultistatus.maximumDepth + 1
        let xml = #"<multistatus xmlns="DAV:">"# + String(repeating: "<x>", count: depth) + String(repeating: "</x>", count: depth)
            + "</multistatus>"
        #expect(throws: CalDAVError.self) { try CalDAVMultistatus(parsing: Array(xml.utf8)) }
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK", 200), ("HTTP/1.1 404 Not Found", 404), ("  HTTP/1.1   507 Insufficient Storage ", 507),
        ("HTTP/1.1", nil), ("200 OK", nil), ("HTTP/1.1 2000 Huh", nil), ("HTTP/1.1 abc", nil),
    ] as [(String, Int?)])
    func statusLines(line: String, code: Int?) throws {
        let xml = #"<multistatus xmlns="DAV:"><response><href>/x</href><status>\#(line)</status></response></multistatus>"#
        #expect(try CalDAVMultistatus(parsing: Array(xml.utf8)).responses.first?.status == code)
    }
}
