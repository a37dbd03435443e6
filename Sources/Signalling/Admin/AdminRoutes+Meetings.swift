import Foundation
import GroupwareBridge
import Hummingbird
import Logging
import Scheduling

/// `/api/meetings` and `/api/outbox` (docs/meetings.md): scheduled meetings whose invitations go out by mail and
/// calendar, and the outbox that carries them.
extension AdminRoutes {
    func registerMeetings<Context: RequestContext>(on api: RouterGroup<Context>, scheduler: MeetingScheduler) {
        api.post("meetings") { request, _ in
            let draft = try await meetingDraft(request)
            let meeting = try await meetingCall { () async throws(MeetingError) in try await scheduler.create(draft) }
            return try json(wire(meeting, scheduler), status: .created)
        }
        api.get("meetings") { _, _ in
            let all = try await meetingCall { () async throws(MeetingError) in try scheduler.meetings() }
            return try json(AdminWire.Meetings(meetings: all.map { wire($0, scheduler) }))
        }
        api.get("meetings/:meeting") { _, context in
            let id = try meetingParameter(context)
            return try json(wire(try await meetingCall { () async throws(MeetingError) in try scheduler.meeting(id) }, scheduler))
        }
        api.put("meetings/:meeting") { request, context in
            let id = try meetingParameter(context)
            let draft = try await meetingDraft(request)
            let updated = try await meetingCall { () async throws(MeetingError) in try await scheduler.update(id, to: draft) }
            await hub.roomOptionsChanged(updated.meeting.room)  // a lobby turned off lets in whoever waits
            return try json(wire(updated, scheduler))
        }
        api.delete("meetings/:meeting") { _, context in
            let id = try meetingParameter(context)
            return try json(wire(try await meetingCall { () async throws(MeetingError) in try await scheduler.cancel(id) }, scheduler))
        }
        if let reporter {
            api.get("meetings/:meeting/attendance") { request, context in
                let id = try meetingParameter(context)
                let report = try await meetingCall { () throws(MeetingError) in try reporter.report(id) }
                return try attendance(report, request)
            }
        }
        api.get("outbox") { request, _ in
            let meeting = request.uri.queryParameters.get("meeting").flatMap { $0.isEmpty ? nil : $0 }
            let items = try storeCall { try scheduler.store.outbox(meeting: meeting) }
            return try json(AdminWire.Outbox(items: items.map(AdminWire.OutboxEntry.init)))
        }
    }

    /// JSON, or the CSV the organizer's mail carries when asked for `text/csv` (or `?format=csv`).
    private func attendance(_ report: AttendanceReport, _ request: Request) throws(Problem) -> Response {
        let wantsCSV = (request.headers[.accept] ?? "").contains("text/csv") || request.uri.queryParameters.get("format") == "csv"
        guard wantsCSV else { return try json(report) }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"attendance-\(report.meeting).csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: report.csv)))
    }

    private func wire(_ meeting: ScheduledMeeting, _ scheduler: MeetingScheduler) -> AdminWire.Meeting {
        AdminWire.Meeting(meeting, url: meetingURL(meeting.meeting.room), policy: scheduler.policy)
    }

    private func meetingDraft(_ request: Request) async throws(Problem) -> MeetingDraft {
        let body = try await decode(AdminWire.MeetingRequest.self, from: request, empty: nil)
        do { return try body.draft() } catch { throw Self.problem(error) }
    }

    /// Runs a scheduler call, turning its error into the problem document the API promises.
    private func meetingCall<T>(_ body: () async throws(MeetingError) -> T) async throws(Problem) -> T {
        do {
            return try await body()
        } catch {
            if case .failed(let why) = error { logger.error("meeting operation failed", metadata: ["error": "\(why)"]) }
            throw Self.problem(error)
        }
    }

    static func problem(_ error: MeetingError) -> Problem {
        switch error {
        case .notFound:
            Problem(status: 404, code: error.code, title: "No such meeting", detail: error.description)
        case .cancelled:
            Problem(status: 409, code: error.code, title: "Meeting cancelled", detail: error.description)
        case .inviteDomainNotAllowed:
            Problem(status: 403, code: error.code, title: "Invitation not allowed", detail: error.description)
        case .tooManyAttendees:
            Problem(status: 400, code: error.code, title: "Too many attendees", detail: error.description)
        case .failed:
            Problem(status: 500, code: error.code, title: "Meeting not saved", detail: "The server could not save the meeting; see its log.")
        default:
            Problem(status: 400, code: error.code, title: "Invalid meeting", detail: error.description)
        }
    }

    private func meetingParameter(_ context: some RequestContext) throws(Problem) -> String {
        guard let id = context.parameters.get("meeting"), !id.isEmpty, id.utf8.count <= 64 else {
            throw Problem(status: 400, code: "bad-path", title: "Bad path", detail: "The meeting id path segment is missing or too long.")
        }
        return id
    }
}
