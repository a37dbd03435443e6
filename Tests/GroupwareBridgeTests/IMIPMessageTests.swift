import Foundation
import Testing
@testable import GroupwareBridge
import SabhaTestSupport

/// The iMIP mail (RFC 6047), read back with a minimal MIME reader.
struct IMIPMessageTests {
    struct Part {
        var headers: [String: String]
        var body: String
    }

    /// Headers (unfolded, names lower-cased) and body of an entity.
    static func entity(_ text: Substring) throws -> Part {
        let split = try #require(text.range(of: "\r\n\r\n"))
        var headers: [String: String] = [:]
        var last: String?
        for line in text[..<split.lowerBound].components(separatedBy: "\r\n") {
            if line.hasPrefix(" ") || line.hasPrefix("\t"), let key = last {
                headers[key, default: ""] += line
            } else {
                let colon = try #require(line.firstIndex(of: ":"))
                last = line[..<colon].lowercased()
                headers[last!] = String(line[line.index(after: colon)...].drop(while: { $0 == " " }))
            }
        }
        return Part(headers: headers, body: String(text[split.upperBound...]))
    }

    static func boundary(_ contentType: String) throws -> String {
        let range = try #require(contentType.range(of: "boundary=\""))
        return String(contentType[range.upperBound...].prefix(while: { $0 != "\"" }))
    }

    static func parts(_ body: String, boundary: String) throws -> [Part] {
        let chunks = body.components(separatedBy: "--\(boundary)")
        #expect(chunks.last?.hasPrefix("--\r\n") == true)  // closing delimiter
        return try chunks.dropFirst().dropLast().map { chunk in
            #expect(chunk.hasPrefix("\r\n"))
            return try entity(chunk.dropFirst())  // "\r\n" is one Character
        }
    }

    static func base64(_ body: String) throws -> [UInt8] {
        for line in body.components(separatedBy: "\r\n") { #expect(line.count <= 76) }
        return try [UInt8](#require(Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: ""))))
    }

    static func decodeWords(_ header: String) -> String {
        // Enough RFC 2047 for what we write: B-encoded UTF-8 words separated by folding.
        let words = header.replacingOccurrences(of: "\r\n ", with: " ").split(separator: " ")
        var out = ""
        for word in words {
            if word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="), let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) {
                #expect(word.count <= 75)
                out += String(decoding: data, as: UTF8.self)
            } else {
                out += (out.isEmpty ? "" : " ") + word
            }
        }
        return out
    }

    @Test func structurePartsAndCalendarRoundTrip() throws {
        let invitation = try Sample.invitation(sequence: 1)
        let recipient = invitation.attendees[1]
        var rng = SplitMix64(seed: 7)
        let message = try IMIPMessage(invitation: invitation, recipient: recipient, date: Sample.start, using: &rng)
        let text = try #require(String(validating: message.bytes, as: UTF8.self))
        #expect(message.bytes.allSatisfy { $0 < 0x80 })  // 7-bit clean
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))  // CRLF only
        for line in text.components(separatedBy: "\r\n") { #expect(line.count <= 78) }

        let top = try Self.entity(text[...])
        #expect(top.headers["mime-version"] == "1.0")
        #expect(top.headers["from"] == "Asha Rao <asha@example.in>")
        #expect(top.headers["to"].map(Self.decodeWords) == "सुनील कुमार <sunil@example.in>")
        #expect(top.headers["subject"].map(Self.decodeWords) == "Updated invitation: " + invitation.summary)
        #expect(top.headers["date"] == "Wed, 04 Mar 2026 08:30:00 +0000")
        #expect(top.headers["message-id"] == message.messageID)

        let mixed = try #require(top.headers["content-type"])
        #expect(mixed.hasPrefix("multipart/mixed;"))
        let outer = try Self.parts(top.body, boundary: Self.boundary(mixed))
        #expect(outer.count == 2)
        let alternativeType = try #require(outer[0].headers["content-type"])
        #expect(alternativeType.hasPrefix("multipart/alternative;"))
        #expect(try Self.boundary(alternativeType) != Self.boundary(mixed))
        let inner = try Self.parts(outer[0].body, boundary: Self.boundary(alternativeType))
        #expect(inner.map { $0.headers["content-type"] } == [
            "text/plain; charset=UTF-8", "text/html; charset=UTF-8", "text/calendar; charset=UTF-8; method=REQUEST",
        ])
        #expect((inner + [outer[1]]).allSatisfy { $0.headers["content-transfer-encoding"] == "base64" })

        let plain = String(decoding: try Self.base64(inner[0].body), as: UTF8.self)
        #expect(plain.contains(recipient.joinURL))
        #expect(plain.contains("2026-03-04 14:00–15:00 (Asia/Kolkata, UTC+05:30)"))
        let html = String(decoding: try Self.base64(inner[1].body), as: UTF8.self)
        #expect(html.contains("href=\"\(recipient.joinURL)\""))
        #expect(html.contains("Quarterly review; budget, plans \\ and मंथन"))

        let calendarPart = try Self.base64(inner[2].body)
        #expect(calendarPart == message.calendar)
        #expect(calendarPart == (try ICalendarDocument.bytes(invitation, for: recipient)))

        #expect(outer[1].headers["content-type"] == "application/ics; name=\"invite.ics\"")
        #expect(outer[1].headers["content-disposition"] == "attachment; filename=\"invite.ics\"")
        #expect(try Self.base64(outer[1].body) == message.calendar)
    }

    @Test func messageIDIsStablePerVersionAndRecipient() throws {
        let invitation = try Sample.invitation()
        let a = try IMIPMessage(invitation: invitation, recipient: invitation.attendees[0])
        let again = try IMIPMessage(invitation: invitation, recipient: invitation.attendees[0])
        let other = try IMIPMessage(invitation: invitation, recipient: invitation.attendees[1])
        let updated = try IMIPMessage(invitation: try Sample.invitation(sequence: 1), recipient: invitation.attendees[0])
        var cancel = invitation
        cancel.method = .cancel
        let cancelled = try IMIPMessage(invitation: cancel, recipient: invitation.attendees[0])
        #expect(a.messageID == again.messageID)
        #expect(a.bytes != again.bytes)  // fresh boundaries
        #expect(Set([a.messageID, other.messageID, updated.messageID, cancelled.messageID]).count == 4)
        #expect(a.messageID.hasPrefix("<") && a.messageID.hasSuffix("@example.in>"))
    }

    @Test func cancelMessage() throws {
        var invitation = try Sample.invitation(sequence: 4)
        invitation.method = .cancel
        let message = try IMIPMessage(invitation: invitation, recipient: invitation.attendees[2])
        let text = String(decoding: message.bytes, as: UTF8.self)
        #expect(text.contains("text/calendar; charset=UTF-8; method=CANCEL"))
        #expect(text.contains("To: \"Viewer, The\" <viewer@example.org>"))
        let top = try Self.entity(text[...])
        #expect(top.headers["subject"].map(Self.decodeWords) == "Cancelled: " + invitation.summary)
    }

    @Test func longASCIISubjectIsFolded() {
        let folded = IMIPMessage.encodedText(String(repeating: "word ", count: 40))
        #expect(folded.components(separatedBy: "\r\n ").allSatisfy { $0.count <= 76 })
        #expect(folded.replacingOccurrences(of: "\r\n ", with: " ") == String(repeating: "word ", count: 40))
    }
}
