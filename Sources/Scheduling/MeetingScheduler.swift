import Foundation
import GroupwareBridge
import Logging

/// Creates, changes and cancels scheduled meetings: one transaction stores the meeting, its attendees and every
/// mail and calendar write it causes (in the outbox, rendered), so nothing is lost between "saved" and "sent".
public final class MeetingScheduler: Sendable {
    public let store: any MeetingStore
    public let policy: MeetingPolicy
    let hooks: MeetingHooks
    let logger: Logger

    public init(store: any MeetingStore, policy: MeetingPolicy, hooks: MeetingHooks, logger: Logger) {
        self.store = store
        self.policy = policy
        self.hooks = hooks
        self.logger = logger
    }

    /// Where a meeting comes from; a calendar booking brings its event's identity.
    public enum Origin: Sendable, Equatable {
        case api
        case calendar(uid: String, href: String, etag: String?, sequence: Int)
    }

    // MARK: - Create, update, cancel

    public func create(_ draft: MeetingDraft, origin: Origin = .api, now: Date = Date()) async throws(MeetingError) -> ScheduledMeeting {
        let draft = try draft.validated()
        try checkPolicy(draft)
        let id = "m-" + Self.randomID(8)
        let links = try await issueLinks(for: draft, room: id)
        do { try await hooks.openRoom(id, draft.title) } catch { throw .failed("cannot open room \(id): \(error)") }

        var record = MeetingRecord(
            id: id, uid: id + "@sabha", room: id, source: .api, title: draft.title, description: draft.description,
            start: draft.start, end: draft.end, timeZone: draft.timeZone, organizerName: draft.organizer.name,
            organizerEmail: draft.organizer.email.value, organizerLink: links.organizer, sequence: 0, status: .scheduled,
            createdAt: now, updatedAt: now, lobby: draft.lobby ?? policy.defaultLobby(draft))
        if case .calendar(let uid, let href, let etag, let sequence) = origin {
            record.uid = uid
            record.source = .calendar
            record.resourceHref = href
            record.resourceETag = etag
            record.sequence = min(max(0, sequence), MeetingRecord.maximumSequence)
        }
        let attendees = Self.invited(draft, meeting: id, links: links.attendees, language: policy.language)
        let items = try outboxItems(for: record, attendees: attendees, removed: [], method: .request, now: now)
        let stored = record
        do {
            try store.write { tx in
                try tx.insert(stored)
                for attendee in attendees { try tx.insert(attendee) }
                for item in items { try tx.enqueue(item) }
            }
        } catch {
            throw .failed("meeting not stored: \(error)")
        }
        logger.notice("meeting scheduled", metadata: ["meeting": "\(id)", "source": "\(record.source.rawValue)",
                                                      "attendees": "\(attendees.count)", "outbox": "\(items.count)"])
        hooks.outboxChanged()
        return ScheduledMeeting(meeting: record, attendees: attendees)
    }

    /// Replaces what the meeting is: SEQUENCE goes up, everyone listed gets a new REQUEST, whoever is no longer
    /// listed gets a CANCEL and loses their place. `minimumSequence` follows a calendar event's own SEQUENCE.
    public func update(_ id: String, to draft: MeetingDraft, resourceETag: String? = nil, minimumSequence: Int = 0,
                       now: Date = Date()) async throws(MeetingError) -> ScheduledMeeting {
        let draft = try draft.validated()
        try checkPolicy(draft)
        guard let current = try lookUp(id) else { throw .notFound(id) }
        guard current.status == .scheduled else { throw .cancelled(id) }
        let links = try await issueLinks(for: draft, room: current.room)

        var record = current
        record.title = draft.title
        record.description = draft.description
        record.start = draft.start
        record.end = draft.end
        record.timeZone = draft.timeZone
        record.organizerName = draft.organizer.name
        record.organizerEmail = draft.organizer.email.value
        record.organizerLink = links.organizer
        record.sequence = MeetingRecord.sequence(after: current.sequence, atLeast: minimumSequence)
        record.updatedAt = now
        if let lobby = draft.lobby { record.lobby = lobby }
        if let resourceETag { record.resourceETag = resourceETag }

        let previous: [MeetingAttendeeRecord]
        do { previous = try store.attendees(of: id) } catch { throw .failed("\(error)") }
        let listed = Set(draft.attendees.map(\.email.value))
        var attendees = Self.invited(draft, meeting: id, links: links.attendees, language: policy.language)
        for index in attendees.indices {
            if let earlier = previous.first(where: { $0.email == attendees[index].email }) { attendees[index].keepAnswer(of: earlier) }
        }
        let removed = previous.filter { $0.status == .invited && !listed.contains($0.email) }
        let lowered = attendees.filter { now in
            previous.contains { $0.email == now.email && $0.status == .invited && Self.rank($0.role) > Self.rank(now.role) }
        }.map(\.email)
        let stillRemoved = previous.filter { $0.status == .removed && !listed.contains($0.email) }
        var dropped = (removed + stillRemoved).map { attendee in
            var attendee = attendee
            attendee.status = .removed
            attendee.link = ""
            return attendee
        }
        for index in dropped.indices { dropped[index].position = attendees.count + index }
        let items = try outboxItems(for: record, attendees: attendees, removed: removed, method: .request, now: now)
        let stored = record
        let all = attendees + dropped
        do {
            try store.write { tx in
                guard let fresh = try tx.meeting(id: id), fresh.status == .scheduled else { throw MeetingError.cancelled(id) }
                var stored = stored
                stored.calendarETag = fresh.calendarETag
                if stored.resourceETag == nil { stored.resourceETag = fresh.resourceETag }
                stored.sequence = max(stored.sequence, MeetingRecord.sequence(after: fresh.sequence))
                try tx.update(stored)
                // Answers stay with the person (read here, in the transaction, so one that just came in is kept).
                let answers = Dictionary(try tx.attendees(of: id).map { ($0.email, $0) }, uniquingKeysWith: { a, _ in a })
                try tx.deleteAttendees(of: id)
                for var attendee in all {
                    if let earlier = answers[attendee.email] { attendee.keepAnswer(of: earlier) }
                    try tx.insert(attendee)
                }
                for item in items { try tx.enqueue(item) }
            }
        } catch let error as MeetingError {
            throw error
        } catch {
            throw .failed("meeting not updated: \(error)")
        }
        logger.notice("meeting updated", metadata: ["meeting": "\(id)", "sequence": "\(record.sequence)",
                                                    "attendees": "\(attendees.count)", "removed": "\(removed.count)"])
        hooks.outboxChanged()
        if !removed.isEmpty { await hooks.dismiss(record.room, removed.map(\.email)) }
        if !lowered.isEmpty { await hooks.rolesLowered(record.room, lowered) }
        return ScheduledMeeting(meeting: record, attendees: all)
    }

    /// Cancels: CANCEL to everyone, the copy leaves the organizer's calendar, the room ends, no link admits anyone.
    /// Cancelling a cancelled meeting changes nothing.
    public func cancel(_ id: String, now: Date = Date()) async throws(MeetingError) -> ScheduledMeeting {
        guard var record = try lookUp(id) else { throw .notFound(id) }
        let attendees: [MeetingAttendeeRecord]
        do { attendees = try store.attendees(of: id) } catch { throw .failed("\(error)") }
        guard record.status == .scheduled else { return ScheduledMeeting(meeting: record, attendees: attendees) }
        record.status = .cancelled
        if record.report == .pending { record.report = .skipped }
        record.sequence = MeetingRecord.sequence(after: record.sequence)
        record.updatedAt = now
        let invited = attendees.filter { $0.status == .invited }
        let items = try outboxItems(for: record, attendees: invited, removed: [], method: .cancel, now: now)
        let stored = record
        do {
            try store.write { tx in
                guard var fresh = try tx.meeting(id: id), fresh.status == .scheduled else { return }
                fresh.status = .cancelled
                if fresh.report == .pending { fresh.report = .skipped }  // a cancelled meeting gets no attendance report
                fresh.sequence = max(stored.sequence, MeetingRecord.sequence(after: fresh.sequence))
                fresh.updatedAt = now
                try tx.update(fresh)
                for item in items { try tx.enqueue(item) }
            }
        } catch {
            throw .failed("meeting not cancelled: \(error)")
        }
        logger.notice("meeting cancelled", metadata: ["meeting": "\(id)", "attendees": "\(invited.count)"])
        hooks.outboxChanged()
        await hooks.closeRoom(record.room)
        return ScheduledMeeting(meeting: record, attendees: attendees)
    }

    // MARK: - Reading

    public func meeting(_ id: String) throws(MeetingError) -> ScheduledMeeting {
        guard let record = try lookUp(id) else { throw .notFound(id) }
        do { return ScheduledMeeting(meeting: record, attendees: try store.attendees(of: id)) } catch { throw .failed("\(error)") }
    }

    public func meetings() throws(MeetingError) -> [ScheduledMeeting] {
        do {
            return try store.meetings().map { ScheduledMeeting(meeting: $0, attendees: try store.attendees(of: $0.id)) }
        } catch {
            throw .failed("\(error)")
        }
    }

    /// The draft a stored meeting answers to (compared with a booking's, to tell a real change from our own write-back).
    public func draft(of record: MeetingRecord) throws -> MeetingDraft {
        let invited = try store.attendees(of: record.id).filter { $0.status == .invited }
        return MeetingDraft(
            title: record.title, description: record.description, start: record.start, end: record.end, timeZone: record.timeZone,
            organizer: CalendarUser(name: record.organizerName, email: try EmailAddress(record.organizerEmail)),
            attendees: try invited.map { .init(name: $0.name, email: try EmailAddress($0.email), role: $0.role, language: $0.language) })
    }

    // MARK: - Admission

    /// Whether `identity` may join `room` at `now`: a meeting's room admits from `opensBefore` the start to
    /// `closesAfter` the end, not after it is cancelled, and not an attendee who was removed from it.
    public func admission(room: String, identity: String, at now: Date = Date()) -> Admission {
        let record: MeetingRecord?
        do { record = try store.meeting(room: room) } catch {
            logger.error("admission check failed; refusing", metadata: ["room": "\(room)", "error": "\(error)"])
            return .refused(code: "meeting-not-open", detail: "The meeting cannot be checked right now; try again in a minute.")
        }
        guard let record else { return .notAMeeting }
        if record.status == .cancelled {
            return .refused(code: "meeting-cancelled", detail: "The meeting '\(record.title)' was cancelled.")
        }
        let attendee: MeetingAttendeeRecord?
        do {
            attendee = try store.read { tx in try tx.attendee(of: record.id, email: identity.lowercased()) }
        } catch {
            logger.error("admission check failed; refusing", metadata: ["room": "\(room)", "error": "\(error)"])
            return .refused(code: "meeting-not-open", detail: "The meeting cannot be checked right now; try again in a minute.")
        }
        if attendee?.status == .removed {
            return .refused(code: "link-revoked", detail: "You are no longer invited to '\(record.title)'; this link has been withdrawn.")
        }
        let opens = record.start.addingTimeInterval(-policy.opensBefore)
        let closes = record.end.addingTimeInterval(policy.closesAfter)
        let when = Self.describe(record)
        if now < opens {
            return .refused(code: "meeting-not-open",
                            detail: "'\(record.title)' is on \(when). The link works from \(Self.format(opens, zone: record.timeZone, dateToo: false)).")
        }
        if now > closes {
            return .refused(code: "meeting-not-open", detail: "'\(record.title)' was on \(when); it is over.")
        }
        if let attendee { return .admitted(role: attendee.role) }
        return .admitted(role: identity.lowercased() == record.organizerEmail.lowercased() ? .host : nil)
    }

    /// "Monday 1 December 2026, 10:00–11:00 (Asia/Kolkata)".
    static func describe(_ record: MeetingRecord) -> String {
        "\(format(record.start, zone: record.timeZone, dateToo: true))–\(format(record.end, zone: record.timeZone, dateToo: false)) (\(record.timeZone))"
    }

    static func format(_ date: Date, zone: String, dateToo: Bool) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC")
        formatter.dateFormat = dateToo ? "EEEE d MMMM yyyy, HH:mm" : "HH:mm"
        return formatter.string(from: date)
    }

    // MARK: - Internals

    /// The policy's limits (attendee count, invitation domains), counted when they refuse.
    private func checkPolicy(_ draft: MeetingDraft) throws(MeetingError) {
        do {
            try policy.check(draft)
        } catch {
            switch error {
            case .tooManyAttendees: hooks.limitReached("attendees", 1)
            case .inviteDomainNotAllowed: hooks.limitReached("invite-domains", 1)
            default: break
            }
            logger.notice("meeting refused by policy", metadata: ["reason": "\(error.code)", "detail": "\(error.description)"])
            throw error
        }
    }

    private func lookUp(_ id: String) throws(MeetingError) -> MeetingRecord? {
        do { return try store.meeting(id: id) } catch { throw .failed("\(error)") }
    }

    private func issueLinks(for draft: MeetingDraft, room: String) async throws(MeetingError) -> (organizer: String, attendees: [String: String]) {
        let expires = draft.end.addingTimeInterval(policy.closesAfter)
        do {
            // The organizer hosts, whether or not they listed themselves.
            let organizerRole = draft.attendees.first { $0.email == draft.organizer.email }?.role ?? .host
            let organizer = Self.link(try await hooks.issueLink(.init(room: room, identity: draft.organizer.email.value, name: draft.organizer.name,
                                                                      role: organizerRole, expires: expires)), in: policy.language)
            var links: [String: String] = [:]
            for invitee in draft.attendees {
                let link = try await hooks.issueLink(.init(room: room, identity: invitee.email.value, name: invitee.name,
                                                           role: invitee.role, expires: expires))
                links[invitee.email.value] = Self.link(link, in: invitee.language ?? policy.language)
            }
            return (organizer, links)
        } catch {
            throw .failed("cannot issue join links: \(error)")
        }
    }

    /// A join link that opens the meeting page in `language` (`lang=`), for any but English, the page's default.
    static func link(_ url: String, in language: MessageLanguage) -> String {
        guard language != .english else { return url }
        return url + (url.contains("?") ? "&" : "?") + "lang=" + language.rawValue
    }

    /// The draft's attendees as stored: invited, in the order given, each with their link.
    private static func invited(_ draft: MeetingDraft, meeting: String, links: [String: String],
                                language: MessageLanguage) -> [MeetingAttendeeRecord] {
        draft.attendees.enumerated().map { index, invitee in
            MeetingAttendeeRecord(meetingId: meeting, email: invitee.email.value, name: invitee.name, role: invitee.role,
                                  status: .invited, link: links[invitee.email.value] ?? "", position: index,
                                  language: invitee.language ?? language)
        }
    }

    /// The invitation as the attendees' clients see it.
    func invitation(_ record: MeetingRecord, attendees: [MeetingAttendeeRecord], method: ITIPMethod, now: Date) throws -> MeetingInvitation {
        MeetingInvitation(
            uid: record.uid, sequence: record.sequence, dtstamp: now, start: record.start, end: record.end,
            timeZoneID: record.timeZone, summary: record.title, description: record.description,
            organizer: CalendarUser(name: record.organizerName, email: try EmailAddress(record.organizerEmail)),
            attendees: try attendees.map { Attendee(name: $0.name, email: try EmailAddress($0.email), role: $0.role,
                                                    joinURL: $0.link.isEmpty ? record.organizerLink : $0.link, language: $0.language,
                                                    status: $0.answer) },
            method: method)
    }

    private func outboxItems(for record: MeetingRecord, attendees: [MeetingAttendeeRecord], removed: [MeetingAttendeeRecord],
                             method: ITIPMethod, now: Date) throws(MeetingError) -> [OutboxItem] {
        var items: [OutboxItem] = []
        func item(_ kind: OutboxItem.Kind, recipient: String?, method: String?, payload: [UInt8]) -> OutboxItem {
            OutboxItem(id: nil, meetingId: record.id, kind: kind, recipient: recipient, method: method, sequence: record.sequence,
                       key: OutboxItem.key(uid: record.uid, sequence: record.sequence, method: method, recipient: recipient, kind: kind),
                       payload: Data(payload), state: .pending, attempts: 0, lastError: nil, nextAttemptAt: now, createdAt: now, sentAt: nil)
        }
        do {
            if policy.mail {
                if !attendees.isEmpty {
                    let invitation = try invitation(record, attendees: attendees, method: method, now: now)
                    for recipient in invitation.attendees {
                        let message = try IMIPMessage(invitation: invitation, recipient: recipient, date: now, sender: policy.sender)
                        items.append(item(.mail, recipient: recipient.email.value, method: method.rawValue, payload: message.bytes))
                    }
                }
                if !removed.isEmpty {
                    let cancellation = try invitation(record, attendees: removed, method: .cancel, now: now)
                    for recipient in cancellation.attendees {
                        let message = try IMIPMessage(invitation: cancellation, recipient: recipient, date: now, sender: policy.sender)
                        items.append(item(.mail, recipient: recipient.email.value, method: "CANCEL", payload: message.bytes))
                    }
                }
            }
            switch record.source {
            case .api where policy.organizerCalendar:
                if method == .cancel {
                    items.append(item(.calendarDelete, recipient: nil, method: nil, payload: []))
                } else {
                    let invitation = try invitation(record, attendees: attendees, method: .request, now: now)
                    let object = ICalendarWriter.bytes(try ICalendarDocument.storedObject(invitation, link: record.organizerLink,
                                                                                          language: policy.language))
                    items.append(item(.calendarPut, recipient: nil, method: nil, payload: object))
                }
            case .calendar where policy.resourceCalendar && method == .request:
                // The booking is shared: it gets the meeting page, not anyone's personal token.
                let page = record.organizerLink.prefix { $0 != "?" }
                items.append(item(.calendarLink, recipient: nil, method: nil, payload: Array(page.utf8)))
            default:
                break
            }
        } catch {
            throw .failed("cannot build the invitations: \(error)")
        }
        return items
    }

    /// viewer < participant < host.
    static func rank(_ role: Attendee.Role) -> Int {
        switch role {
        case .viewer: 0
        case .participant: 1
        case .host: 2
        }
    }

    static func randomID(_ count: Int) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        return String((0..<count).map { _ in alphabet.randomElement()! })
    }
}
