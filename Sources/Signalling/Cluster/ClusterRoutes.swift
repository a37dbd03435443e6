import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Recording

/// `/cluster/…`: what the other nodes of a cluster ask of this one, every request signed with the cluster's secret
/// (`ClusterSignature`; anything else is answered 401 and logged): relays (`CascadeRelays`), and actions on a meeting
/// held here (`ClusterMeetingActions`).
struct ClusterRoutes: Sendable {
    let relays: CascadeRelays
    let hub: MeetingHub
    /// This node's recordings, for the admin API of the others (`AdminRoutes.clusterRecordings`).
    let recordings: @Sendable () async -> RecordingLibrary?
    let logger: Logger

    static let maximumBodySize = 64 * 1024

    func register(on router: Router<some RequestContext>) {
        registerMeetingMedia(on: router)
        router.get("/cluster/recordings") { request, _ -> Response in
            _ = try await verified(request)
            let list = try await recordings()?.list() ?? []
            let data = try AdminWire.makeEncoder().encode(list)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/cluster/recordings/:id") { request, context -> Response in
            _ = try await verified(request)
            guard let id = context.parameters.get("id")?.removingPercentEncoding, try await recordings()?.entry(id: id) != nil else {
                throw Problem(status: 404, code: "recording-not-found", title: "No such recording", detail: "Not on this node.")
            }
            return Response(status: .ok)
        }
        router.post("/cluster/meetings") { request, _ -> Response in
            let wanted = try await decoded(ClusterMeetingActions.Request.self, request, code: "meeting-action", title: "Malformed meeting action")
            logger.info("meeting action asked by another node", metadata: ["room": "\(wanted.room)", "action": "\(wanted.action.rawValue)",
                                                                          "people": "\(wanted.identities.count)"])
            await ClusterMeetingActions.apply(wanted.action, room: wanted.room, identities: wanted.identities, on: hub)
            return Response(status: .noContent)
        }
        router.post("/cluster/relays") { request, _ -> Response in
            let wanted = try await decoded(RelayWire.Request.self, request, code: "relay-request", title: "Malformed relay request")
            let answer = try await relays.open(wanted)
            return try Self.json(answer, status: .created)
        }
        router.post("/cluster/relays/:id/start") { request, context -> Response in
            _ = try await verified(request)
            guard let id = context.parameters.get("id"), await relays.start(id) else { throw Self.unknown }
            return Response(status: .noContent)
        }
        router.get("/cluster/relays/:id") { request, context -> Response in
            _ = try await verified(request)
            guard let id = context.parameters.get("id"), let status = await relays.status(id) else { throw Self.unknown }
            return try Self.json(status, status: .ok)
        }
        router.delete("/cluster/relays/:id") { request, context -> Response in
            _ = try await verified(request)
            guard let id = context.parameters.get("id"), await relays.close(id) else { throw Self.unknown }
            return Response(status: .noContent)
        }
    }

    static let unknown = Problem(status: 404, code: "relay-not-found", title: "No such relay",
                                 detail: "This node sends no such relay (its publisher stopped, or the node restarted).")

    /// The body, once the request's signature checks out.
    func verified(_ request: Request) async throws -> [UInt8] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maximumBodySize)
        } catch {
            throw Problem(status: 413, code: "body-too-large", title: "Request too large", detail: "Relay requests are small.")
        }
        let body = Array(buffer.readableBytesView)
        let header = request.headers[HTTPField.Name(ClusterSignature.header)!]
        guard relays.cluster.signature.verify(header, method: request.method.rawValue, path: request.uri.path, body: body) else {
            logger.notice("cluster request with a bad or old signature refused", metadata: ["path": "\(request.uri.path)"])
            throw Problem(status: 401, code: "cluster-signature", title: "Not signed by a node of this cluster",
                          detail: "Requests to /cluster/ must carry a valid \(ClusterSignature.header) header.")
        }
        return body
    }

    /// The signed body, decoded; a body that is not what the route takes is a 400 `code`.
    func decoded<T: Decodable>(_ type: T.Type, _ request: Request, code: String, title: String) async throws -> T {
        let body = try await verified(request)
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw Problem(status: 400, code: code, title: title, detail: "\(error)")
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
