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
