import Foundation
import GroupwareBridge
import Logging

extension OutboxRelay {
    /// Adds the attendance summary to the DESCRIPTION of the organizer's event (our copy for meetings from the API,
    /// the booking for calendar bookings) and attaches the CSV (RFC 5545 ATTACH, inline base64). A server that refuses
    /// the attachment (a 4xx other than 412, 403 included) gets the summary alone. The ETag we write is remembered, so neither the
    /// reply collector nor the watcher takes our write for someone else's change.
    func writeReport(_ item: OutboxItem) async -> Outcome {
        let meeting: MeetingRecord
        let note: CalendarReportNote
        do {
            guard let found = try store.meeting(id: item.meetingId) else { return .failed("the meeting is gone") }
            meeting = found
            note = try JSONDecoder().decode(CalendarReportNote.self, from: item.payload)
        } catch {
            return .failed("report not readable: \(error)")
        }
        let calendar: CalDAVClient
        let resource: String
        let remember: @Sendable (String?) throws -> Void
        switch meeting.source {
        case .api:
            guard let organizer = channels.organizerCalendar else { return .retry("CalDAV is not configured (SABHA_CALDAV_URL)") }
            calendar = organizer
            resource = meeting.calendarResourceName
            remember = { [store] etag in try store.setCalendarETag(etag, meeting: meeting.id) }
        case .calendar:
            guard let bookings = channels.resourceCalendar, let href = meeting.resourceHref else {
                return .retry("the resource calendar is not configured")
            }
            calendar = bookings
            resource = href
            remember = { [store] etag in try store.setResourceETag(etag, meeting: meeting.id) }
        }
        var attach = true
        for _ in 0..<(Self.conflictRounds + 1) {
            do {
                guard let current = try await calendar.get(resource) else {
                    logger.notice("the organizer's event is gone; the report went by mail only", metadata: ["meeting": "\(meeting.id)"])
                    return .sent
                }
                let object: ICalendarComponent
                do { object = try ICalendarParser().parseCalendar(Array(current.body.utf8)) } catch {
                    return .failed("the organizer's event no longer parses: \(error)")
                }
                guard let updated = Self.withReport(object, note, attach: attach) else { return .sent }  // already there
                let condition: CalDAVWriteCondition = current.etag.map { .replace(etag: $0) } ?? .create
                var written = try await calendar.put(ICalendarWriter.string(updated), resource: resource, condition: condition)
                if written == nil { written = try await calendar.get(resource)?.etag }
                try remember(written)
                return .sent
            } catch let error as CalDAVError {
                switch error {
                case .preconditionFailed:
                    continue
                case .http(_, _) where attach, .unauthorized where attach:
                    // 403 (CalDAV preconditions such as valid-calendar-data: the client maps it with 401), 413, 415...:
                    // try once more without the attachment; a real access problem fails that try too.
                    guard error.isTransient == false else { return Self.outcome(error) }
                    logger.notice("calendar server refused the report's attachment; writing the summary alone",
                                  metadata: ["meeting": "\(meeting.id)", "error": "\(error)"])
                    attach = false
                default:
                    return Self.outcome(error)
                }
            } catch {
                return .retry("store: \(error)")
            }
        }
        return .retry("the organizer's event kept changing")
    }

    /// The event with the summary at the end of its DESCRIPTION and the CSV attached (replacing an earlier one of the
    /// same name); nil when it already carries this summary.
    static func withReport(_ calendar: ICalendarComponent, _ note: CalendarReportNote, attach: Bool) -> ICalendarComponent? {
        guard let index = calendar.masterEventIndex else { return nil }
        var event = calendar.components[index]
        let description = event.property("DESCRIPTION")?.text ?? ""
        if description.contains(note.summary) { return nil }
        event.properties.removeAll { $0.name == "DESCRIPTION" }
        event.properties.append(ICalendarProperty("DESCRIPTION", text: description.isEmpty ? note.summary : description + "\n\n" + note.summary))
        if attach {
            event.properties.removeAll { $0.name == "ATTACH" && $0.parameter("FILENAME") == note.filename }
            event.properties.append(ICalendarProperty("ATTACH", parameters: [
                ICalendarParameter("FMTTYPE", "text/csv"), ICalendarParameter("ENCODING", "BASE64"),
                ICalendarParameter("VALUE", "BINARY"), ICalendarParameter("FILENAME", note.filename),
            ], value: Data(note.csv.utf8).base64EncodedString()))
        }
        var updated = calendar
        updated.components[index] = event
        return updated
    }
}
