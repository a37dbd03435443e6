import Foundation
import HTTPTypes
import Hummingbird
import MediaCore
import Recording

/// `POST /api/rooms/{room}/recording` with `{"action":"start"}` or `{"action":"stop"}`, and `GET` for whether it
/// records (issue 19). Starting needs someone in the room; stopping answers with what was recorded.
extension AdminRoutes {
    struct RecordingAction: Decodable { var action: String }

    func registerRecording(on api: RouterGroup<some RequestContext>) {
        api.get("rooms/:room/recording") { _, context in try json(await hub.recordingStatus(room: try roomParameter(context))) }
        api.post("rooms/:room/recording") { request, context in try await recording(request, room: try roomParameter(context)) }
        api.get("recordings") { _, _ in try json(try await library().list()) }
        api.get("recordings/:recording/file") { request, context in
            let id = context.parameters.get("recording") ?? ""
            let name = request.uri.queryParameters.get("name") ?? "recording.json"
            guard let path = try await library().file(name, of: id) else { throw Self.noRecordingFile(id: id, name: name) }
            let body = try await FileIO().loadFile(path: path, context: context)
            let type = name.hasSuffix(".webm") ? "video/webm" : "application/json"
            let download = (name as NSString).lastPathComponent
            return Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(id)-\(download)\""], body: body)
        }
        api.delete("recordings/:recording") { _, context in
            let id = context.parameters.get("recording") ?? ""
            let deleted: Bool
            do { deleted = try await library().delete(id) } catch {
                throw Problem(status: 500, code: "delete-failed", title: "Cannot delete", detail: "The recording could not be deleted: \(error.localizedDescription)")
            }
            guard deleted else { throw Self.noRecordingFile(id: id, name: nil) }
            audit(MeetingHub.AuditEvent(room: "", identity: "", participant: "", event: "recording-deleted", actor: "admin", detail: id))
            return Response(status: .noContent)
        }
    }

    private func library() async throws(Problem) -> RecordingLibrary {
        guard let library = await hub.recordingLibrary else { throw Self.problem(.notConfigured) }
        return library
    }

    static func noRecordingFile(id: String, name: String?) -> Problem {
        Problem(status: 404, code: "recording-not-found", title: "No such recording",
                detail: name.map { "Recording \(id) has no file \($0) (or it is still recording); GET /api/recordings lists the files." }
                    ?? "There is no finished recording \(id); GET /api/recordings lists them.")
    }

    private func recording(_ request: Request, room: String) async throws(Problem) -> Response {
        let body = try await decode(RecordingAction.self, from: request, empty: nil)
        guard ["start", "stop"].contains(body.action) else {
            throw Problem(status: 400, code: "bad-action", title: "Unknown action", detail: "\"action\" must be \"start\" or \"stop\".")
        }
        if body.action == "start" {
            return try json(try await refusing { () async throws(MeetingHub.RecordingRefusal) in try await hub.startRecording(room: room, by: "admin") }, status: .created)
        }
        return try json(try await refusing { () async throws(MeetingHub.RecordingRefusal) in try await hub.stopRecording(room: room, by: "admin") })
    }

    /// Runs a recording action, turning its refusal into the admin API's problem.
    private func refusing<Value>(_ action: () async throws(MeetingHub.RecordingRefusal) -> Value) async throws(Problem) -> Value {
        do { return try await action() } catch { throw Self.problem(error) }
    }

    static func problem(_ refusal: MeetingHub.RecordingRefusal) -> Problem {
        let status = switch refusal {
        case .notConfigured: 503
        case .noMeeting, .notRecording, .alreadyRecording: 409
        case .failed: 500
        }
        return Problem(status: status, code: "recording-refused", title: "Recording refused", detail: MeetingHub.describe(refusal))
    }
}
