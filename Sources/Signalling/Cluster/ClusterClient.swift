import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Requests from this node to another node of the cluster (`/cluster/…`), signed with the cluster's secret
/// (`ClusterSignature`): relays (`CascadeRelays`) and what the scheduler asks of the node holding a meeting
/// (`ClusterMeetingActions`).
public struct ClusterClient: Sendable {
    /// This node's public URL (its id in the cluster).
    public let node: String
    public let signature: ClusterSignature
    let client: HTTPClient

    public static let requestTimeout: TimeAmount = .seconds(3)

    public init(node: String, secret: [UInt8], client: HTTPClient = .shared) {
        self.node = node
        self.signature = ClusterSignature(secret: secret)
        self.client = client
    }

    /// `method path` on the node at `base` (its public URL), with a JSON body when there is one; the answer's status
    /// and body (at most 256 KiB). Throws when the node cannot be reached within `timeout`.
    public func call(_ base: String, method: HTTPMethod, path: String, body: Data = Data(),
                     timeout: TimeAmount = ClusterClient.requestTimeout) async throws -> (status: Int, body: [UInt8]) {
        let url = (base.hasSuffix("/") ? String(base.dropLast()) : base) + path
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: ClusterSignature.header, value: signature.sign(method: method.rawValue, path: path, body: [UInt8](body)))
        if !body.isEmpty {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 256 * 1024)
        return (Int(response.status.code), Array(bytes.readableBytesView))
    }
}
