import Foundation
import MediaCore

/// Sabha's standard signalling: WHIP (RFC 9725) to publish, WHEP to watch, `DELETE` on the `Location` to end.
struct WHIPClient: SignallingClient {
    let http: HTTPClient
    let room: String
    let signer: TokenSigner
    /// Where WHEP requests (and the viewers' DELETEs) go: `http` unless `--subscriber-server` names another node.
    var viewerHTTP: HTTPClient?
    /// Added to each WHEP request's path (`--whep-query`, e.g. `cascade=1`).
    var whepQuery: String?

    func publish(identity: String, local: LocalPeerDescription) throws -> SignalledSession {
        let token = signer.sign(identity: identity, room: room, role: "publisher")
        return try post("/whip/\(escape(room))", token: token, local: local, via: http)
    }

    func subscribe(identity: String, publisher: String, local: LocalPeerDescription) throws -> SignalledSession {
        let token = signer.sign(identity: identity, room: room, role: "viewer")
        let path = "/whep/\(escape(room))/\(escape(publisher))" + (whepQuery.map { "?" + $0 } ?? "")
        return try post(path, token: token, local: local, via: viewerHTTP ?? http)
    }

    func end(_ session: SignalledSession, identity: String) -> Bool {
        guard !session.resource.isEmpty else { return false }
        let role = session.resource.hasPrefix("/whip/") ? "publisher" : "viewer"
        let token = signer.sign(identity: identity, room: room, role: role)
        var client = role == "viewer" ? viewerHTTP ?? http : http
        client.timeoutMs = 2000
        let response = try? client.request("DELETE", session.resource, headers: [("Authorization", "Bearer \(token)")])
        return response.map { (200..<300).contains($0.status) } ?? false
    }

    private func post(_ path: String, token: String, local: LocalPeerDescription, via client: HTTPClient) throws -> SignalledSession {
        let offer = SDP.offer(local, sessionID: UInt64.random(in: 1...(UInt64(1) << 62)))
        let response = try client.request("POST", path, headers: [
            ("Authorization", "Bearer \(token)"), ("Content-Type", "application/sdp"),
        ], body: Array(offer.utf8))
        guard response.status == 201 else {
            throw LoadgenError.signalling("POST \(path) answered \(response.status): \(response.text.prefix(300))")
        }
        let remote = try SDP.read(response.text)
        var location = response.header("Location") ?? ""
        if let url = URL(string: location), url.host != nil { location = url.path }
        return SignalledSession(remote: remote, resource: location)
    }

    private func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}
