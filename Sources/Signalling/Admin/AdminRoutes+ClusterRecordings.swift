import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1
import Recording

/// In a cluster a recording stays in the data directory of the node that made it. The admin API answers for all of
/// them through any node: the list gathers every live node's (each entry says its `node`), and a request about one
/// recording this node does not have is sent on (307) to the node that has it, asked over the cluster's signed
/// requests (`GET /cluster/recordings/{id}`).
extension AdminRoutes {
    /// Every live node's recordings, newest first, each with the `node` that holds it.
    func clusterRecordings(_ local: [RecordingLibrary.Entry]) async throws(Problem) -> Response {
        guard let placement, let client = cascade?.cluster else { return try json(local) }
        var all = Self.objects(try? AdminWire.makeEncoder().encode(local), node: placement.node)
        for node in placement.liveNodes() where node.id != placement.node {
            do {
                let (status, body) = try await client.call(node.id, method: .GET, path: "/cluster/recordings")
                guard status == 200 else { throw Problem(status: 502, code: "node", title: "", detail: "\(status)") }
                all += Self.objects(Data(body), node: node.id)
            } catch {
                logger.error("recordings of another node not listed", metadata: ["node": "\(node.id)", "error": "\(error)"])
            }
        }
        all.sort { ($0["startedAt"] as? String ?? "") > ($1["startedAt"] as? String ?? "") }
        do {
            let data = try JSONSerialization.data(withJSONObject: all, options: [.sortedKeys])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        } catch {
            throw Problem(status: 500, code: "encoding-failed", title: "Response not encoded", detail: "\(error)")
        }
    }

    private static func objects(_ data: Data?, node: String) -> [[String: Any]] {
        guard let data, let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else { return [] }
        return list.map { entry in
            var entry = entry
            entry["node"] = node
            return entry
        }
    }

    /// A 307 to the live node that has recording `id` (same path and query), when this one does not; nil otherwise.
    func recordingElsewhere(_ id: String, _ request: Request) async throws(Problem) -> Response? {
        guard let placement, let client = cascade?.cluster, try await library().entry(id: id) == nil,
              let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) else { return nil }
        for node in placement.liveNodes() where node.id != placement.node {
            guard let (status, _) = try? await client.call(node.id, method: .GET, path: "/cluster/recordings/\(escaped)"),
                  status == 200 else { continue }
            return Response(status: .temporaryRedirect,
                            headers: [.location: RoomPlacement.location(on: node.id, path: request.uri.path, query: request.uri.query)])
        }
        return nil
    }
}
