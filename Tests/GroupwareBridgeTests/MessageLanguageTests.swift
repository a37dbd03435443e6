import Foundation
import Testing
@testable import GroupwareBridge

/// Invitations in each attendee's language: the mail's subject, text and HTML, and their calendar copy's text.
struct MessageLanguageTests {
    static func invitation(sequence: Int = 0, method: ITIPMethod = .request) throws -> MeetingInvitation {
        var invitation = try Sample.invitation(sequence: sequence)
        invitation.attendees[0].language = .english
        invitation.attendees[1].language = .hindi
        invitation.attendees[2].language = .odia
        invitation.method = method
        return invitation
    }

    static func read(_ message: IMIPMessage) throws -> (headers: [String: String], plain: String, html: String) {
        let text = try #require(String(validating: message.bytes, as: UTF8.self))
        #expect(message.bytes.allSatisfy { $0 < 0x80 }, "7-bit clean in every language")
        for line in text.components(separatedBy: "\r\n") { #expect(line.count <= 78) }
        let top = try IMIPMessageTests.entity(text[...])
        let outer = try IMIPMessageTests.parts(top.body, boundary: IMIPMessageTests.boundary(try #require(top.headers["content-type"])))
        let inner = try IMIPMessageTests.parts(outer[0].body, boundary: IMIPMessageTests.boundary(try #require(outer[0].headers["content-type"])))
        return (top.headers, String(decoding: try IMIPMessageTests.base64(inner[0].body), as: UTF8.self),
                String(decoding: try IMIPMessageTests.base64(inner[1].body), as: UTF8.self))
    }

    @Test func aHindiAttendeeGetsAHindiMailAndCalendarText() throws {
        let invitation = try Self.invitation()
        let recipient = invitation.attendees[1]
        let message = try IMIPMessage(invitation: invitation, recipient: recipient, date: Sample.start)
        let (headers, plain, html) = try Self.read(message)
        #expect(headers["content-language"] == "hi")
        #expect(headers["subject"].map(IMIPMessageTests.decodeWords) == "आमंत्रण: " + invitation.summary)
        #expect(plain.contains("Asha Rao आपको \"\(invitation.summary)\" में आमंत्रित करते हैं।"))
        #expect(plain.contains("समय: बुधवार, 4 मार्च 2026 14:00–15:00 (Asia/Kolkata, UTC+05:30)"), "\(plain)")
        #expect(plain.contains("जुड़ें: \(recipient.joinURL)"))
        #expect(plain.contains("यह लिंक केवल आपके लिए है"))
        #expect(html.contains("Asha Rao आपको <b>\(IMIPMessage.escapeHTML(invitation.summary))</b> में आमंत्रित करते हैं।"))
        #expect(html.contains(">बैठक में जुड़ें</a>"))

        let event = try #require(try ICalendarParser().parse(message.calendar).first?.components("VEVENT").first)
        #expect(event.property("DESCRIPTION")?.text == "Agenda:\n1. Numbers\n2. Plans\n\nबैठक में जुड़ें: \(recipient.joinURL)")
        #expect(event.property("CONFERENCE")?.parameter("LABEL") == "जुड़ें")
        let attendees = event.properties("ATTENDEE")
        #expect(attendees.map { $0.parameter("LANGUAGE") } == [nil, "hi", "or"])
    }

    @Test func anOdiaAttendeeGetsAnOdiaMailAndItsCancellationToo() throws {
        let invitation = try Self.invitation(sequence: 2)
        let recipient = invitation.attendees[2]
        let (headers, plain, html) = try Self.read(try IMIPMessage(invitation: invitation, recipient: recipient, date: Sample.start))
        #expect(headers["content-language"] == "or")
        #expect(headers["subject"].map(IMIPMessageTests.decodeWords) == "ଅଦ୍ୟତନ ନିମନ୍ତ୍ରଣ: " + invitation.summary)
        #expect(plain.contains("Asha Rao \"\(invitation.summary)\"ର ନିମନ୍ତ୍ରଣ ଅଦ୍ୟତନ କରିଛନ୍ତି।"))
        #expect(plain.contains("ସମୟ: ବୁଧବାର"), "\(plain)")
        #expect(plain.contains("2026 14:00–15:00 (Asia/Kolkata, UTC+05:30)"))
        #expect(html.contains(">ବୈଠକରେ ଯୋଗ ଦିଅନ୍ତୁ</a>"))

        let cancelled = try Self.read(try IMIPMessage(invitation: try Self.invitation(sequence: 3, method: .cancel), recipient: recipient))
        #expect(cancelled.headers["subject"].map(IMIPMessageTests.decodeWords) == "ବାତିଲ: " + invitation.summary)
        #expect(cancelled.plain.contains("Asha Rao \"\(invitation.summary)\" ବାତିଲ କରିଛନ୍ତି।"))
        #expect(cancelled.plain.contains("ପାଇଁ ସ୍ଥିର ହୋଇଥିଲା।"))
    }

    @Test func englishStaysAsItWasAndTheOrganizersCopyFollowsTheServersLanguage() throws {
        let invitation = try Self.invitation()
        let (headers, plain, html) = try Self.read(try IMIPMessage(invitation: invitation, recipient: invitation.attendees[0]))
        #expect(headers["content-language"] == "en")
        #expect(headers["subject"].map(IMIPMessageTests.decodeWords) == "Invitation: " + invitation.summary)
        #expect(plain.contains("When: 2026-03-04 14:00–15:00 (Asia/Kolkata, UTC+05:30)"))
        #expect(html.contains("<p>Asha Rao invites you to <b>\(IMIPMessage.escapeHTML(invitation.summary))</b>.</p>"))
        let stored = try ICalendarDocument.storedObject(invitation, link: "https://meet.example.in/m/r?t=o", language: .odia)
        #expect(stored.components("VEVENT").first?.property("DESCRIPTION")?.text.hasSuffix("ବୈଠକରେ ଯୋଗ ଦିଅନ୍ତୁ: https://meet.example.in/m/r?t=o") == true)
    }

    @Test(arguments: [("hi", MessageLanguage.hindi), ("HI-in", .hindi), ("or", .odia), ("or_IN", .odia), ("od", .odia), ("en-GB", .english)])
    func languageCodesAreRead(code: String, language: MessageLanguage) {
        #expect(MessageLanguage(code: code) == language)
    }

    @Test func otherCodesAreNotALanguage() {
        for code in ["", "fr", "hindi", "-", "o"] { #expect(MessageLanguage(code: code) == nil) }
    }
}
