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
        api.get("recordings") { _, _ in try await clusterRecordings(try await library().list()) }
        api.get("recordings/:recording") { request, context in
            let id = context.parameters.get("recording") ?? ""
            if let elsewhere = try await recordingElsewhere(id, request) { return elsewhere }
            guard let entry = try await library().entry(id: id) else { throw Self.noRecordingFile(id: id, name: nil) }
            return try json(entry)
        }
        api.post("recordings/:recording/compose") { request, context in
            let id = context.parameters.get("recording") ?? ""
            if let elsewhere = try await recordingElsewhere(id, request) { return elsewhere }
            guard await hub.compose(id: id), let entry = try await library().entry(id: id) else { throw Self.noRecordingFile(id: id, name: nil) }
            return try json(entry, status: .accepted)
        }
        api.get("recordings/:recording/file") { request, context in
            let id = context.parameters.get("recording") ?? ""
            if let elsewhere = try await recordingElsewhere(id, request) { return elsewhere }
            if let text = request.uri.queryParameters.get("kind") {
                let kind = try Self.kind(text)
                guard let located = try await library().locate(id) else { throw Self.noRecordingFile(id: id, name: nil) }
                return try await download(kind, of: located, id: id, context: context)
            }
            let name = request.uri.queryParameters.get("name") ?? "recording.json"
            guard let path = try await library().file(name, of: id) else { throw Self.noRecordingFile(id: id, name: name) }
            let body = try await FileIO().loadFile(path: path, context: context)
            return Self.attachment(body, type: Self.contentType(of: name), name: "\(id)-\((name as NSString).lastPathComponent)")
        }
        api.delete("recordings/:recording") { request, context in
            let id = context.parameters.get("recording") ?? ""
            if let elsewhere = try await recordingElsewhere(id, request) { return elsewhere }
            let deleted: Bool
            await hub.cancelComposition(id: id)
            do { deleted = try await library().delete(id) } catch {
                throw Problem(status: 500, code: "delete-failed", title: "Cannot delete", detail: "The recording could not be deleted: \(error.localizedDescription)")
            }
            guard deleted else { throw Self.noRecordingFile(id: id, name: nil) }
            audit(MeetingHub.AuditEvent(room: "", identity: "", participant: "", event: "recording-deleted", actor: "admin", detail: id))
            return Response(status: .noContent)
        }
    }

    /// Outside the admin group: a room's hosts (with their link token) list the room's recordings and download the
    /// composed files, from the meeting page.
    func registerHostRecordings(on router: Router<some RequestContext>) {
        router.get("api/rooms/:room/recordings") { request, context in
            let room = try roomParameter(context)
            try await authorizeHost(request, room: room, toDo: "see its recordings")
            return try json(try await library().list().filter { $0.room == room })
        }
        router.get("api/rooms/:room/recordings/:recording/file") { request, context in
            let room = try roomParameter(context), id = context.parameters.get("recording") ?? ""
            try await authorizeHost(request, room: room, toDo: "download its recordings")
            guard let located = try await library().locate(id), located.entry.room == room else { throw Self.noRecordingFile(id: id, name: nil) }
            return try await download(try Self.kind(request.uri.queryParameters.get("kind") ?? "composed"), of: located, id: id, context: context)
        }
    }

    /// `?kind=composed|audio|tracks`: the composed file, the sound alone, or every track and recording.json as one
    /// ustar archive, streamed file by file.
    private func download(_ kind: RecordingLibrary.Kind, of located: (folder: String, entry: RecordingLibrary.Entry), id: String,
                          context: some RequestContext) async throws -> Response {
        let (folder, entry) = located
        guard let files = RecordingLibrary.files(kind, of: entry) else {
            let state = entry.composition.map { "\($0.state.rawValue)\($0.state == .running ? String(format: " (%.0f %%)", $0.progress * 100) : "")\($0.error.map { ": \($0)" } ?? "")" }
            throw Problem(status: 409, code: "not-composed", title: "Not composed yet",
                          detail: "Recording \(id) has no \(kind.rawValue) file yet; its composition is \(state ?? "not queued") (POST /api/recordings/\(id)/compose queues it).")
        }
        switch kind {
        case .composed, .audio:
            let body = try await FileIO().loadFile(path: "\(folder)/\(files[0])", context: context)
            return Self.attachment(body, type: Self.contentType(of: files[0]), name: "\(id)-\(files[0])")
        case .tracks:
            return Self.attachment(Self.tarBody(folder: folder, files: files, root: id), type: "application/x-tar", name: "\(id)-tracks.tar")
        }
    }

    static func kind(_ text: String) throws(Problem) -> RecordingLibrary.Kind {
        guard let kind = RecordingLibrary.Kind(rawValue: text) else {
            throw Problem(status: 400, code: "bad-kind", title: "Unknown kind", detail: "\"kind\" must be composed, audio or tracks.")
        }
        return kind
    }

    static func contentType(of name: String) -> String {
        name.hasSuffix(".webm") ? "video/webm" : name.hasSuffix(".opus") ? "audio/ogg" : "application/json"
    }

    static func attachment(_ body: ResponseBody, type: String, name: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name)\""], body: body)
    }

    /// A ustar archive of `files` (relative to `folder`) under `root/`, read from disk 256 KB at a time as it is sent.
    static func tarBody(folder: String, files: [String], root: String) -> ResponseBody {
        let sizes = files.map { ((try? FileManager.default.attributesOfItem(atPath: "\(folder)/\($0)")[.size] as? NSNumber)?.int64Value) ?? 0 }
        let length = zip(files, sizes).reduce(TarHeader.end.count) { $0 + TarHeader.blockSize + Int($1.1) + TarHeader.padding(after: $1.1) }
        return ResponseBody(contentLength: length) { writer in
            for (file, size) in zip(files, sizes) {
                guard let header = TarHeader(path: "\(root)/\(file)", size: size, modified: Int64(Date().timeIntervalSince1970)),
                      let handle = FileHandle(forReadingAtPath: "\(folder)/\(file)") else { throw HTTPError(.internalServerError) }
                defer { try? handle.close() }
                try await writer.write(ByteBuffer(bytes: header.bytes))
                var left = size
                while left > 0 {
                    let chunk = try handle.read(upToCount: Int(min(left, 256 << 10))) ?? Data()
                    guard !chunk.isEmpty else { throw HTTPError(.internalServerError) }  // the file shrank while sent
                    try await writer.write(ByteBuffer(bytes: chunk))
                    left -= Int64(chunk.count)
                }
                try await writer.write(ByteBuffer(repeating: 0, count: TarHeader.padding(after: size)))
            }
            try await writer.write(ByteBuffer(bytes: TarHeader.end))
            try await writer.finish(nil)
        }
    }

    func library() async throws(Problem) -> RecordingLibrary {
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
        case .diskNearlyFull: 507
        case .failed: 500
        }
        return Problem(status: status, code: "recording-refused", title: "Recording refused", detail: MeetingHub.describe(refusal))
    }
}
