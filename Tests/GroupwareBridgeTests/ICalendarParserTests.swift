import Foundation
import Testing
@testable import GroupwareBridge
import SabhaTestSupport

/// The parser on the RFC 5545 examples, on its own output, and on broken and random input.
struct ICalendarParserTests {
    @Test(arguments: Fixtures.names)
    func parsesEveryRFCExampleAndRoundTrips(name: String) throws {
        let components = try Fixtures.parse(name)
        #expect(!components.isEmpty)
        let written = ICalendarWriter.bytes(components)
        let again = try ICalendarParser().parse(written)
        #expect(again == components)
        // What we write is canonical: CRLF everywhere, no line over 75 octets.
        for line in String(decoding: written, as: UTF8.self).components(separatedBy: "\r\n").dropLast() {
            #expect(line.utf8.count <= 75)
            #expect(!line.contains("\n") && !line.contains("\r"))
        }
    }

    @Test func section4ConferenceUnfoldsKeepingTheSecondSpace() throws {
        let event = try #require(Fixtures.parse("rfc5545-s4-conference.ics").first?.components("VEVENT").first)
        #expect(event.property("DESCRIPTION")?.text
            == "Networld+Interop Conference and Exhibit\nAtlanta World Congress Center\nAtlanta, Georgia")
        #expect(event.property("dtstart")?.value == "19960918T143000Z")
        #expect(event.property("UID")?.value == "uid1@example.com")
    }

    @Test func section4GroupMeetingParametersAndTimeZone() throws {
        let calendar = try #require(Fixtures.parse("rfc5545-s4-group-meeting.ics").first)
        #expect(calendar.name == "VCALENDAR")
        let zone = try #require(calendar.components("VTIMEZONE").first)
        #expect(zone.property("TZID")?.value == "America/New_York")
        #expect(zone.components("STANDARD").first?.property("TZOFFSETTO")?.value == "-0500")
        let event = try #require(calendar.components("VEVENT").first)
        let attendee = try #require(event.property("ATTENDEE"))
        #expect(attendee.value == "mailto:employee-A@example.com")
        #expect(attendee.parameter("rsvp") == "TRUE")
        #expect(attendee.parameter("ROLE") == "REQ-PARTICIPANT")
        #expect(attendee.parameter("CUTYPE") == "GROUP")
        let start = try #require(event.property("DTSTART"))
        #expect(start.parameter("TZID") == "America/New_York")
        #expect(start.value == "19980312T083000")
    }

    @Test func section4JournalEscapesAndLists() throws {
        let journal = try #require(Fixtures.parse("rfc5545-s4-journal.ics").first?.components("VJOURNAL").first)
        #expect(journal.property("CATEGORIES")?.textList == ["Project Report", "XYZ", "Weekly Meeting"])
        let text = try #require(journal.property("DESCRIPTION")?.text)
        #expect(text.hasPrefix("Project xyz Review Meeting Minutes\nAgenda\n1. Review"))
        #expect(text.contains("Participants: John Smith, Jane Doe, Jim Dandy\n-It was decided"))
        #expect(text.hasSuffix("No meeting until 3/23."))
    }

    @Test func section4TodoNestsAnAlarm() throws {
        let todo = try #require(Fixtures.parse("rfc5545-s4-todo-alarm.ics").first?.components("VTODO").first)
        let alarm = try #require(todo.components("VALARM").first)
        #expect(alarm.property("ATTACH")?.value == "http://example.com/pub/audio-files/ssbanner.aud")
        #expect(alarm.property("ATTACH")?.parameter("FMTTYPE") == "audio/basic")
        #expect(alarm.property("TRIGGER")?.parameter("VALUE") == "DATE-TIME")
    }

    @Test func section361BareEventsAndDateValues() throws {
        let event = try #require(Fixtures.parse("rfc5545-3.6.1-multiday.ics").first)
        #expect(event.name == "VEVENT")
        #expect(event.property("DTSTART")?.parameter("VALUE") == "DATE")
        #expect(event.property("DTEND")?.value == "20070709")
        let meeting = try #require(Fixtures.parse("rfc5545-3.6.1-meeting.ics").first)
        #expect(meeting.property("CATEGORIES")?.textList == ["BUSINESS", "HUMAN RESOURCES"])
    }

    @Test func quotedParametersMultipleValuesAndCaretEscapes() throws {
        let text = "BEGIN:VEVENT\r\n"
            + "ATTENDEE;MEMBER=\"mailto:a@example.com\",\"mailto:b@example.com\";CN=\"Doe, Jane; \"\"\r\n"
            .replacingOccurrences(of: "\"\"\r\n", with: "\":mailto:j@example.com\r\n")
            + "X-NOTE;X-P=\"a^'q^' ^n^^\":v\r\nEND:VEVENT\r\n"
        let event = try #require(try ICalendarParser().parse(text).first)
        let attendee = try #require(event.property("ATTENDEE"))
        #expect(attendee.parameters.first?.values == ["mailto:a@example.com", "mailto:b@example.com"])
        #expect(attendee.parameter("CN") == "Doe, Jane; ")
        #expect(attendee.value == "mailto:j@example.com")
        #expect(event.property("X-NOTE")?.parameter("X-P") == "a\"q\" \n^")
        // And back: the writer quotes and caret-encodes the same values.
        #expect(try ICalendarParser().parse(ICalendarWriter.bytes(event)).first == event)
    }

    @Test func acceptsBareLineFeedsAndAByteOrderMark() throws {
        let text = "\u{FEFF}BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n"
        #expect(try ICalendarParser().parse(text).first?.property("VERSION")?.value == "2.0")
    }

    static let broken: [(String, BridgeError.Code, Int?)] = [
        ("", .empty, nil),
        ("BEGIN:VEVENT\r\n", .unbalancedComponent, nil),
        ("END:VEVENT\r\n", .unbalancedComponent, 1),
        ("BEGIN:VEVENT\r\nEND:VTODO\r\n", .unbalancedComponent, 2),
        ("UID:x\r\n", .unbalancedComponent, 1),
        (" continued\r\n", .malformedContentLine, 1),
        ("BEGIN:VEVENT\r\nno colon here\r\nEND:VEVENT\r\n", .malformedContentLine, 2),
        ("BEGIN:VEVENT\r\n:novalue\r\nEND:VEVENT\r\n", .malformedContentLine, 2),
        ("BEGIN:VEVENT\r\nX;P=\"open:v\r\nEND:VEVENT\r\n", .malformedContentLine, 2),
        ("BEGIN:VEVENT\r\nX;=a:v\r\nEND:VEVENT\r\n", .malformedContentLine, 2),
        ("BEGIN:VEVENT\r\nX;P:v\r\nEND:VEVENT\r\n", .malformedContentLine, 2),
        ("BEGIN:VEVENT\r\nX:a\u{1}b\r\nEND:VEVENT\r\n", .malformedContentLine, 2),
        ("BEGIN:\r\n", .malformedContentLine, 1),
        ("BEGIN:V EVENT\r\n", .malformedContentLine, 1),
    ]

    @Test(arguments: broken)
    func brokenInputIsATypedErrorWithItsLine(input: String, code: BridgeError.Code, line: Int?) {
        #expect {
            _ = try ICalendarParser().parse(input)
        } throws: { error in
            guard let error = error as? BridgeError else { return false }
            return error.code == code && error.line == line && !error.reason.isEmpty
        }
    }

    @Test func invalidUTF8IsRejected() {
        let bytes = Array("BEGIN:VEVENT\r\nSUMMARY:".utf8) + [0xC3, 0x28] + Array("\r\nEND:VEVENT\r\n".utf8)
        #expect(throws: BridgeError.self) { try ICalendarParser().parse(bytes) }
        do { _ = try ICalendarParser().parse(bytes) } catch { #expect(error.code == .invalidEncoding && error.line == 2) }
    }

    @Test func limitsBoundSizeLinesAndDepth() {
        let parser = ICalendarParser(limits: .init(maxBytes: 100, maxLines: 5, maxDepth: 3))
        func code(_ text: String) -> BridgeError.Code? {
            do { _ = try parser.parse(text); return nil } catch { return error.code }
        }
        #expect(code(String(repeating: "X", count: 101)) == .limitExceeded)
        #expect(code(String(repeating: "\r\n", count: 6)) == .limitExceeded)
        #expect(code("BEGIN:A\r\nBEGIN:B\r\nBEGIN:C\r\nBEGIN:D\r\n") == .limitExceeded)
        #expect(code("BEGIN:A\r\nBEGIN:B\r\nX:1\r\nX:2\r\nEND:B\r\nEND:A\r\n") == .limitExceeded)  // 6 lines
        // Defaults: 1 MiB, 100 000 lines, depth 10.
        let deep = (0..<11).map { "BEGIN:X\($0)\r\n" }.joined()
        do { _ = try ICalendarParser().parse(deep) } catch { #expect(error.code == .limitExceeded) }
        let huge = [UInt8](repeating: 0x41, count: (1 << 20) + 1)
        do { _ = try ICalendarParser().parse(huge) } catch { #expect(error.code == .limitExceeded) }
    }

    @Test func everyPrefixOfEveryFixtureParsesOrThrowsTyped() throws {
        for name in Fixtures.names {
            let bytes = try Fixtures.load(name)
            for length in 0..<bytes.count {
                // throws(BridgeError): any failure is typed by construction; what matters is no trap.
                _ = try? ICalendarParser().parse(Array(bytes[0..<length]))
            }
        }
    }

    /// 20 000 seeded mutations of the fixtures plus random byte strings: no crash, bounded time,
    /// and whatever parses must write and parse back to the same tree.
    @Test func seededMutationsAndRandomBytes() throws {
        var rng = SplitMix64(seed: 0x5AB4A_1CA1)
        let corpus = try Fixtures.names.map(Fixtures.load)
        let interesting: [UInt8] = Array(":;,\"\\^ \t\r\n=".utf8) + [0x00, 0x7F, 0xC3, 0xE0, 0xFF, 0x80]
        let clock = ContinuousClock()
        let started = clock.now
        var parsed = 0
        for round in 0..<20_000 {
            var input: [UInt8]
            if round % 10 == 9 {
                input = (0..<Int.random(in: 0..<600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                input = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...8, using: &rng) where !input.isEmpty {
                    let at = Int.random(in: 0..<input.count, using: &rng)
                    switch Int.random(in: 0..<5, using: &rng) {
                    case 0: input[at] = interesting.randomElement(using: &rng)!
                    case 1: input[at] = UInt8.random(in: 0...255, using: &rng)
                    case 2: input.remove(at: at)
                    case 3: input.insert(interesting.randomElement(using: &rng)!, at: at)
                    default:  // duplicate a slice: more BEGINs, longer lines
                        let end = min(input.count, at + Int.random(in: 1...200, using: &rng))
                        input.insert(contentsOf: input[at..<end], at: at)
                    }
                }
            }
            if let components = try? ICalendarParser().parse(input) {
                parsed += 1
                #expect(try ICalendarParser().parse(ICalendarWriter.bytes(components)) == components)
            }
        }
        #expect(parsed > 1000)  // the mutations are not all fatal: the round-trip check ran
        #expect(clock.now - started < .seconds(60))
    }
}
