import Foundation
import GroupwareBridge
import Logging

extension OutboxRelay {
    /// Writes attempted per item before a conflict counts as transient: each 412 means someone changed the object
    /// between our read and our write, so we read again and write ours over it.
    static let conflictRounds = 3

    /// PUT (create with If-None-Match, change with If-Match on the ETag we hold) or DELETE our copy in the
    /// organizer's calendar; a 412 is answered by re-reading the object's ETag and trying again.
    func writeOrganizerCalendar(_ item: OutboxItem, _ calendar: CalDAVClient) async -> Outcome {
        let meeting: MeetingRecord
        do {
            guard let found = try store.meeting(id: item.meetingId) else { return .failed("the meeting is gone") }
            meeting = found
        } catch {
            return .retry("store: \(error)")
        }
        let resource = meeting.calendarResourceName
        var etag = meeting.calendarETag
        for _ in 0..<Self.conflictRounds {
            do {
                if item.kind == .calendarDelete {
                    try await calendar.delete(resource, ifMatch: etag)
                    try store.setCalendarETag(nil, meeting: meeting.id)
                    return .sent
                }
                let condition: CalDAVWriteCondition = etag.map { .replace(etag: $0) } ?? .create
                var written = try await calendar.put(String(decoding: item.payload, as: UTF8.self), resource: resource, condition: condition)
                if written == nil { written = try await calendar.get(resource)?.etag }
                try store.setCalendarETag(written, meeting: meeting.id)
                return .sent
            } catch let error as CalDAVError {
                switch error {
                case .preconditionFailed:
                    do { etag = try await calendar.get(resource)?.etag } catch { return Self.outcome(error) }
                    logger.notice("calendar object changed under us; writing over the new version",
                                  metadata: ["meeting": "\(meeting.id)", "etag": "\(etag ?? "-")"])
                case .notFound where item.kind == .calendarPut:
                    etag = nil
                default:
                    return Self.outcome(error)
                }
            } catch {
                return .retry("store: \(error)")
            }
        }
        return .retry("the calendar object kept changing during \(Self.conflictRounds) writes")
    }

    /// Writes the meeting page into the booking's LOCATION, DESCRIPTION and CONFERENCE (If-Match on the ETag just
    /// read), and remembers the resulting ETag so the watcher knows that change is our own.
    func writeLink(_ item: OutboxItem, _ calendar: CalDAVClient) async -> Outcome {
        let meeting: MeetingRecord
        do {
            guard let found = try store.meeting(id: item.meetingId) else { return .failed("the meeting is gone") }
            meeting = found
        } catch {
            return .retry("store: \(error)")
        }
        guard let href = meeting.resourceHref, meeting.status == .scheduled else { return .sent }
        let link = String(decoding: item.payload, as: UTF8.self)
        for _ in 0..<Self.conflictRounds {
            do {
                guard let current = try await calendar.get(href) else { return .sent }  // deleted meanwhile: the watcher cancels
                let calendarObject: ICalendarComponent
                do {
                    calendarObject = try ICalendarParser().parseCalendar(Array(current.body.utf8))
                } catch {
                    return .failed("the booking no longer parses: \(error)")
                }
                guard let updated = CalendarBooking.withLink(calendarObject, link: link) else {
                    try store.setResourceETag(current.etag, meeting: meeting.id)
                    return .sent  // already carries the link
                }
                guard let etag = current.etag else { return .retry("the server gave the booking no ETag") }
                var written = try await calendar.put(ICalendarWriter.string(updated), resource: href, condition: .replace(etag: etag))
                if written == nil { written = try await calendar.get(href)?.etag }
                try store.setResourceETag(written, meeting: meeting.id)
                return .sent
            } catch let error as CalDAVError {
                guard case .preconditionFailed = error else { return Self.outcome(error) }
            } catch {
                return .retry("store: \(error)")
            }
        }
        return .retry("the booking kept changing during \(Self.conflictRounds) writes")
    }

    static func outcome(_ error: CalDAVError) -> Outcome {
        error.isTransient ? .retry(error.description) : .failed(error.description)
    }
}
