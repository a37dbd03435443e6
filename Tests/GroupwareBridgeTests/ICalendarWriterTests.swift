import Testing
@testable import GroupwareBridge
import FoundationEssentials

/// Folding at 75 octets (RFC 5545 section 3.1) and TEXT escaping (section 3.3.11).
struct ICalendarWriterTests {
    func physicalLines(_ property: ICalendarProperty) -> [String] {
        let bytes = ICalendarWriter.bytes(ICalendarComponent("X", properties: [property]))
        return Array(String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").dropFirst().dropLast(2))
    }

    @Test func asciiLineOfExactly75OctetsIsNotFolded() {
        let property = ICalendarProperty("SUMMARY", value: String(repeating: "a", count: 75 - 8))
        #expect(physicalLines(property) == ["SUMMARY:" + String(repeating: "a", count: 67)])
    }

    @Test func asciiLineOf76OctetsFoldsAfter75() {
        let lines = physicalLines(ICalendarProperty("SUMMARY", value: String(repeating: "a", count: 68)))
        #expect(lines.map(\.utf8.count) == [75, 2])
        #expect(lines[1] == " a")
    }

    /// Devanagari letters are 3 octets each: a fold must move back to the start of a letter.
    @Test func devanagariIsNeverSplitInsideALetter() throws {
        let hindi = String(repeating: "नमस्ते दुनिया ", count: 12)
        let property = ICalendarProperty("SUMMARY", text: hindi)
        let bytes = ICalendarWriter.bytes(ICalendarComponent("X", properties: [property]))
        var lineStart = 0
        for i in 0..<(bytes.count - 1) where bytes[i] == 0x0D && bytes[i + 1] == 0x0A {
            let line = Array(bytes[lineStart..<i])
            #expect(line.count <= 75)
            #expect(String(validating: line, as: UTF8.self) != nil)  // whole characters on every line
            lineStart = i + 2
        }
        let lines = physicalLines(property)
        #expect(lines.count > 3)
        // "SUMMARY:" (8) + "नमस्ते दुनिया नमस्ते " (57) + "दुन" (9) = 74; the next letter would end at 77.
        #expect(lines[0].utf8.count == 74)
        #expect(try ICalendarParser().parse(bytes).first?.property("SUMMARY")?.text == hindi)
    }

    @Test func foldsRightAtTheBoundaryWhenACharacterEndsThere() {
        // 8 + 2 + 65 = 75 octets with a 2-octet "é" ending exactly at octet 75... then one more.
        let value = "é" + String(repeating: "b", count: 65) + "é"
        let lines = physicalLines(ICalendarProperty("SUMMARY", value: value))
        #expect(lines.map(\.utf8.count) == [75, 3])
    }

    @Test func textEscapingRoundTrips() throws {
        let text = "a\\b;c,d\ne\r\nf: g"
        let property = ICalendarProperty("DESCRIPTION", text: text)
        #expect(property.value == "a\\\\b\\;c\\,d\\ne\\nf: g")
        let parsed = try #require(try ICalendarParser().parse(ICalendarWriter.bytes(ICalendarComponent("X", properties: [property]))).first)
        #expect(parsed.property("DESCRIPTION")?.text == "a\\b;c,d\ne\nf: g")
        #expect(ICalendarProperty.unescape("x\\Ny\\:z\\") == "x\ny:z\\")
    }

    @Test func parameterValuesAreQuotedOnlyWhenNeeded() {
        let property = ICalendarProperty(
            "ATTENDEE",
            parameters: [ICalendarParameter("CN", "Rao, Asha"), ICalendarParameter("ROLE", "CHAIR"),
                         ICalendarParameter("X-Q", "say \"hi\"")],
            value: "mailto:a@example.com")
        #expect(ICalendarWriter.contentLine(property)
            == "ATTENDEE;CN=\"Rao, Asha\";ROLE=CHAIR;X-Q=say ^'hi^':mailto:a@example.com")
    }
}
