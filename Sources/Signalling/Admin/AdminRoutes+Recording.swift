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
        guard let library = await hub.recordingLibrary else {
            throw Problem(status: 503, code: "recording-refused", title: "Recording off", detail: MeetingHub.describe(.notConfigured))
        }
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
        let result: Result<Response, MeetingHub.RecordingRefusal>
        do throws(MeetingHub.RecordingRefusal) {
            if body.action == "start" {
                let status = try await hub.startRecording(room: room, by: "admin")
                result = .success(try jsonOrEmpty(status, status: .created))
            } else {
                let manifest = try await hub.stopRecording(room: room, by: "admin")
                result = .success(try jsonOrEmpty(manifest, status: .ok))
            }
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let response): return response
        case .failure(let refusal):
            let status = switch refusal {
            case .notConfigured: 503
            case .noMeeting, .notRecording, .alreadyRecording: 409
            case .failed: 500
            }
            throw Problem(status: status, code: "recording-refused", title: "Recording refused", detail: MeetingHub.describe(refusal))
        }
    }

    /// `json`, for use where only a recording refusal may be thrown (encoding our own types does not fail).
    private func jsonOrEmpty(_ value: some Encodable, status: HTTPResponse.Status) -> Response {
        (try? json(value, status: status)) ?? Response(status: .internalServerError)
    }
}
