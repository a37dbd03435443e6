import Foundation
import SabhaTestSupport
import Testing
@testable import GroupwareBridge

/// Reading attendees' answers from reply mails as the common clients send them, and refusing everything else.
@Suite struct IMIPReplyTests {
    static func address(_ text: String) throws -> EmailAddress { try EmailAddress(text) }

    @Test func thunderbirdAcceptanceWithFoldedAttendeeAndAttachment() throws {
        let reply = try IMIPReply(mail: IMIPReplySamples.thunderbird)
        #expect(reply.from == (try Self.address("sunil@example.in")))
        #expect(reply.sender == nil)
        #expect(reply.uid == "room-42@meet.example.in")
        #expect(reply.sequence == 2)
        #expect(reply.dtstamp == Date(timeIntervalSince1970: 1_772_360_100))
        #expect(reply.recurrenceID == nil)
        #expect(reply.answers == [IMIPReply.Answer(email: try Self.address("sunil@example.in"), status: .accepted)])
    }

    @Test func outlookDeclineInBase64WithCommentAndDelegate() throws {
        let reply = try IMIPReply(mail: IMIPReplySamples.outlook)
        #expect(reply.from == (try Self.address("asha.rao@example.gov.in")))
        #expect(reply.sequence == 3)
        #expect(reply.uid.hasPrefix("040000008200E00074C5B7101A82E008"))
        #expect(reply.uid.hasSuffix("F8A9B0"))
        #expect(reply.recurrenceID == "20260304T140000")
        #expect(reply.comment == "I am on tour that day; my deputy will attend, sorry.\nAsha")
        // X-MAYBE and the urn:uuid attendee are skipped.
        #expect(reply.answers == [
            IMIPReply.Answer(email: try Self.address("asha.rao@example.gov.in"), status: .declined),
            IMIPReply.Answer(
                email: try Self.address("deputy@example.gov.in"), status: .accepted,
                sentBy: try Self.address("pa.collector@example.gov.in")),
        ])
    }

    @Test func googleTentativeWithSenderAndFloatingStamp() throws {
        let reply = try IMIPReply(mail: IMIPReplySamples.google)
        #expect(reply.from == (try Self.address("viewer@example.org")))
        #expect(reply.sender == (try Self.address("calendar-notification@google.com")))
        #expect(reply.sequence == 0)
        #expect(reply.dtstamp == Date(timeIntervalSince1970: 1_772_532_000))
        #expect(reply.comment == "")
        #expect(reply.answers.map(\.status) == [.tentative])
    }

    @Test func appleQuotedPrintableWithoutMethodParameterAndBareLF() throws {
        let reply = try IMIPReply(mail: IMIPReplySamples.apple)
        #expect(reply.from == (try Self.address("sunil@example.in")))
        #expect(reply.sender == (try Self.address("office.sunil@example.in")))
        #expect(reply.comment == "Will join from the district office — réunion room")
        #expect(reply.answers == [
            IMIPReply.Answer(
                email: try Self.address("sunil@example.in"), status: .accepted,
                sentBy: try Self.address("office.sunil@example.in")),
        ])
    }

    @Test func theSameReplyWithLFOrCRLFReadsTheSame() throws {
        let lf = IMIPReplySamples.outlook.filter { $0 != 0x0D }
        #expect(try IMIPReply(mail: lf) == (try IMIPReply(mail: IMIPReplySamples.outlook)))
        let crlf = IMIPReplySamples.crlf(String(decoding: IMIPReplySamples.apple, as: UTF8.self))
        #expect(try IMIPReply(mail: crlf) == (try IMIPReply(mail: IMIPReplySamples.apple)))
    }

    // MARK: refused

    static func notAReply(_ mail: [UInt8]) -> Bool {
        do {
            _ = try IMIPReply(mail: mail)
            return false
        } catch {
            if case .notAnIMIPReply = error { return true }
            return false
        }
    }

    static func malformed(_ mail: [UInt8]) -> Bool {
        do {
            _ = try IMIPReply(mail: mail)
            return false
        } catch {
            if case .malformed = error { return true }
            return false
        }
    }

    @Test func plainMailIsNotAReply() {
        #expect(Self.notAReply(IMIPReplySamples.crlf("From: a@example.in\nSubject: hi\n\nJust text.\n")))
    }

    @Test func anInvitationIsNotAReply() {
        let calendar = IMIPReplySamples.thunderbirdCalendar.replacingOccurrences(of: "METHOD:REPLY", with: "METHOD:REQUEST")
        let request = IMIPReplySamples.crlf("From: a@example.in\nContent-Type: text/calendar; method=REPLY\n\n" + calendar)
        #expect(Self.notAReply(request))
    }

    @Test func truncatedBase64IsMalformed() {
        let text = String(decoding: IMIPReplySamples.outlook, as: UTF8.self)
        let cut = text.range(of: "--_000_PN2P287MB1234ABCD_--")!.lowerBound
        let truncated = Array(text[..<cut].utf8).dropLast(120)  // inside the base64, one character past a quad
        #expect(Self.malformed(Array(truncated) + Array("Q".utf8)))
    }

    @Test func missingFromIsMalformed() {
        let text = String(decoding: IMIPReplySamples.google, as: UTF8.self).replacingOccurrences(of: "From: Viewer <viewer@example.org>\r\n", with: "")
        #expect(Self.malformed(Array(text.utf8)))
    }

    /// A boundary that never closes, repeated: bounded by the part limit, not a hang.
    @Test func endlessBoundaryIsBounded() {
        var mail = "From: a@example.in\nContent-Type: multipart/mixed; boundary=b\n\n"
        for _ in 0..<10_000 { mail += "--b\nContent-Type: text/plain\n\nx\n" }
        #expect(Self.malformed(Array(mail.utf8)))
    }

    @Test func tenThousandNestedPartsAreRefusedByDepth() {
        var mail = "From: a@example.in\nContent-Type: multipart/mixed; boundary=b0\n\n"
        for level in 1...10_000 { mail += "--b\(level - 1)\nContent-Type: multipart/mixed; boundary=b\(level)\n\n" }
        let error = #expect(throws: IMIPReplyError.self) { try IMIPReply(mail: Array(mail.utf8)) }
        #expect(error?.description.contains("deeper") == true)
    }

    /// Seeded random bytes, every truncation and random corruptions of the samples: an answer or an error.
    @Test func arbitraryBytesNeverTrap() {
        fuzz(seed: 0x1A1B_2EE1, samples: IMIPReplySamples.all.map(\.1), mutations: 300) { bytes in
            _ = try? IMIPReply(mail: Array(bytes))
        }
    }
}
