import Foundation
import GroupwareBridge
import Logging

/// Attendees' answers (RSVP): from iMIP REPLY mails in the reply mailbox, and from the PARTSTATs a CalDAV scheduling
/// server (RFC 6638) writes into the organizer's copy or the resource booking. Hosts see them in the meeting page,
/// the API shows them, and the attendance report lists them.
extension MeetingScheduler {
    /// Longest comment kept; a longer one is cut (a REPLY is attendee-written text).
    static let maximumCommentLength = 500

    /// Applies an iMIP REPLY. Ignored (and logged): an unknown UID, a cancelled meeting, a reply to an older
    /// SEQUENCE, an ATTENDEE who is not invited, a mail not sent by the attendee (or their SENT-BY), and an answer
    /// older than the one we have.
    @discardableResult
    public func apply(_ reply: IMIPReply, now: Date = Date()) async -> ReplyOutcome {
        let outcome: ReplyOutcome
        var room: String?
        do {
            (outcome, room) = try store.write { tx -> (ReplyOutcome, String?) in
                guard let meeting = try tx.meeting(.uid(reply.uid)) else {
                    return (.ignored("unknown-meeting"), nil)
                }
                guard meeting.status == .scheduled else { return (.ignored("meeting-cancelled"), nil) }
                guard reply.sequence >= meeting.sequence else { return (.ignored("older-sequence"), nil) }
                var changed: [String] = []
                var reason = "not-invited"
                for answer in reply.answers {
                    let email = answer.email.value.lowercased()
                    guard var attendee = try tx.attendee(of: meeting.id, email: email),
                          attendee.status == .invited else { continue }
                    guard Self.isSent(reply, by: answer) else { reason = "sender-mismatch"; continue }
                    let at = reply.dtstamp ?? now
                    if let known = attendee.answeredAt, at < known { reason = "older-than-known"; continue }
                    let comment = Self.cleanComment(reply.comment)
                    guard attendee.answer != answer.status || attendee.answerComment != comment else { reason = "unchanged"; continue }
                    attendee.answer = answer.status
                    attendee.answerComment = comment
                    attendee.answeredAt = at
                    attendee.answerSource = .mail
                    try tx.update(attendee)
                    changed.append(email)
                }
                return changed.isEmpty ? (.ignored(reason), nil) : (.applied(meeting: meeting.id, attendees: changed), meeting.room)
            }
        } catch {
            logger.error("reply not stored", metadata: ["uid": "\(reply.uid)", "error": "\(error)"])
            return .ignored("store-failed")
        }
        log(outcome, source: "mail", uid: reply.uid, from: reply.from.value)
        if let room { await hooks.answersChanged(room) }
        return outcome
    }

    /// Applies the PARTSTATs of a calendar object that holds the meeting (the organizer's copy, or the booking): an
    /// attendee's answer changes when the calendar's value changed since it was last read (to an answer, not back to
    /// NEEDS-ACTION), so an older value left there never overrides a newer answer that came by mail.
    @discardableResult
    public func applyCalendarAnswers(_ calendar: ICalendarComponent, meeting id: String, now: Date = Date()) async -> ReplyOutcome {
        guard let event = calendar.masterEvent else { return .ignored("no-event") }
        var seen: [String: ParticipationStatus] = [:]
        for property in event.properties("ATTENDEE") {
            guard let email = CalendarBooking.email(property.value)?.lowercased(),
                  let status = property.parameter("PARTSTAT").flatMap(ParticipationStatus.init(partstat:)) else { continue }
            seen[email] = status
        }
        let answers = seen
        let outcome: ReplyOutcome
        var room: String?
        do {
            (outcome, room) = try store.write { tx -> (ReplyOutcome, String?) in
                guard let meeting = try tx.meeting(id: id), meeting.status == .scheduled else {
                    return (.ignored("meeting-cancelled"), nil)
                }
                var changed: [String] = []
                for var attendee in try tx.attendees(of: id) where attendee.status == .invited {
                    guard let status = answers[attendee.email], status != attendee.calendarAnswer else { continue }
                    attendee.calendarAnswer = status
                    // NEEDS-ACTION is what our own copy says until someone answers: never an answer in itself.
                    if status.isAnswer && status != attendee.answer {
                        attendee.answer = status
                        attendee.answerComment = nil
                        attendee.answeredAt = now
                        attendee.answerSource = .calendar
                        changed.append(attendee.email)
                    }
                    try tx.update(attendee)
                }
                return changed.isEmpty ? (.ignored("unchanged"), nil) : (.applied(meeting: id, attendees: changed), meeting.room)
            }
        } catch {
            logger.error("calendar answers not stored", metadata: ["meeting": "\(id)", "error": "\(error)"])
            return .ignored("store-failed")
        }
        if case .applied = outcome { log(outcome, source: "calendar", uid: id, from: nil) }
        if let room { await hooks.answersChanged(room) }
        return outcome
    }

    /// Whether the mail came from the attendee (From or Sender), or from whom the ATTENDEE line names as answering
    /// for them (SENT-BY).
    static func isSent(_ reply: IMIPReply, by answer: IMIPReply.Answer) -> Bool {
        let attendee = answer.email.value.lowercased()
        let senders = [reply.from.value.lowercased(), reply.sender?.value.lowercased()]
        return senders.contains(attendee) || (answer.sentBy.map { senders.contains($0.value.lowercased()) } ?? false)
    }

    /// Trimmed, without control characters but newlines, at most `maximumCommentLength` characters; nil when empty.
    static func cleanComment(_ text: String?) -> String? {
        guard let text else { return nil }
        let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 == "\n" || ($0.value >= 0x20 && $0.value != 0x7F) }))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return kept.isEmpty ? nil : String(kept.prefix(maximumCommentLength))
    }

    private func log(_ outcome: ReplyOutcome, source: String, uid: String, from: String?) {
        switch outcome {
        case .applied(let meeting, let attendees):
            logger.notice("answers recorded", metadata: ["meeting": "\(meeting)", "source": "\(source)",
                                                         "attendees": "\(attendees.joined(separator: ","))"])
        case .ignored(let reason):
            logger.notice("reply ignored", metadata: ["uid": "\(uid.prefix(120))", "source": "\(source)", "reason": "\(reason)",
                                                      "from": "\(from ?? "-")"])
        }
    }
}
