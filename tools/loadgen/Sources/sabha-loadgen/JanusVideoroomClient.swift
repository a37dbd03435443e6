import Foundation
import MediaCore

/// Janus's videoroom over its WebSocket API (`ws://127.0.0.1:8188`, subprotocol `janus-protocol`) or its HTTP
/// API (`http://127.0.0.1:8088/janus`), so the same peers load Janus as Sabha.
///
/// One Janus session holds every handle of the run. Publishers: attach `janus.plugin.videoroom`, then
/// `joinandconfigure` (join as publisher and publish in one request) with our offer; Janus answers in an event.
/// Subscribers: attach, `join` as subscriber with one entry per stream of the feed (`{feed, mid}`); for a
/// simulcast video stream the entry asks for the top substream and temporal layer (`substream: 2, temporal: 2`),
/// as a real client picks a layer: without it the videoroom sends the lowest one. Janus sends an offer in the
/// event, we answer with `start` + jsep. Signalling is sequential, on the main thread; a background thread sends
/// `keepalive` every 20 s so the session outlives Janus's 60 s timeout during the measurement window.
final class JanusVideoroomClient: SignallingClient, @unchecked Sendable {
    let api: any JanusAPI
    let room: Int
    private let sessionID: Int64
    /// identity → Janus feed (publisher) id and the streams it published; main thread only.
    private var feeds: [String: (id: Int64, media: [LocalPeerDescription.Media])] = [:]

    /// `url` is `ws://127.0.0.1:8188` (WebSocket API) or `http://127.0.0.1:8088/janus` (HTTP API); loopback only.
    init(url: String, room: Int) throws {
        api = url.hasPrefix("ws://") ? try JanusWebSocketAPI(url: url) : try JanusHTTPAPI(url: url)
        self.room = room
        let created = try api.request(["janus": "create"], session: nil, handle: nil)
        guard let data = created["data"] as? [String: Any], let id = Self.int64(data["id"]) else {
            throw LoadgenError.signalling("Janus create: \(created)")
        }
        sessionID = id
        api.startKeepAlive(session: id)
    }

    func publish(identity: String, local: LocalPeerDescription) throws -> SignalledSession {
        let handle = try attach()
        var local = local
        local.setup = "active"  // Janus answering actpass would take the DTLS client role; our peers are clients
        let offer = SDP.offer(local, sessionID: UInt64.random(in: 1...(UInt64(1) << 62)))
        let event = try message(handle: handle, body: [
            "request": "joinandconfigure", "ptype": "publisher", "room": room, "display": identity,
            "audio": true, "video": true,
        ], jsep: publishJSEP(offer: offer, simulcast: local.media.contains { $0.rids.count > 1 }))
        guard let data = Self.pluginData(event), let feed = Self.int64(data["id"]) else {
            throw LoadgenError.signalling("Janus joinandconfigure: no publisher id in \(Self.brief(event))")
        }
        guard let jsep = event["jsep"] as? [String: Any], let sdp = jsep["sdp"] as? String else {
            throw LoadgenError.signalling("Janus joinandconfigure: no answer in \(Self.brief(event))")
        }
        feeds[identity] = (feed, local.media)
        return SignalledSession(remote: try SDP.read(sdp), resource: "\(handle)")
    }

    func subscribe(identity: String, publisher: String, local: LocalPeerDescription) throws -> SignalledSession {
        guard let feed = feeds[publisher] else { throw LoadgenError.signalling("Janus: publisher \(publisher) has no feed id") }
        let handle = try attach()
        let streams: [[String: Any]] = feed.media.map { media in
            var stream: [String: Any] = ["feed": feed.id, "mid": media.mid]
            if media.kind == .video && media.rids.count > 1 {
                stream["substream"] = media.rids.count - 1
                stream["temporal"] = 2
            }
            return stream
        }
        let event = try message(handle: handle, body: [
            "request": "join", "ptype": "subscriber", "room": room, "streams": streams,
        ])
        guard let jsep = event["jsep"] as? [String: Any], let sdp = jsep["sdp"] as? String else {
            throw LoadgenError.signalling("Janus subscriber join: no offer in \(Self.brief(event))")
        }
        let remote = try SDP.read(sdp)
        let answer = SDP.answer(local, offer: remote, sessionID: UInt64.random(in: 1...(UInt64(1) << 62)))
        let started = try message(handle: handle, body: ["request": "start"], jsep: ["type": "answer", "sdp": answer])
        if let data = Self.pluginData(started), data["error"] != nil {
            throw LoadgenError.signalling("Janus start: \(Self.brief(started))")
        }
        return SignalledSession(remote: remote, resource: "\(handle)", serverOffered: true)
    }

    func end(_ session: SignalledSession, identity: String) -> Bool {
        guard let handle = Int64(session.resource) else { return false }
        let reply = try? api.request(["janus": "detach"], session: sessionID, handle: handle, timeoutMs: 2000)
        return (reply?["janus"] as? String) == "success"
    }

    func close() {
        api.stopKeepAlive()
        _ = try? api.request(["janus": "destroy"], session: sessionID, handle: nil, timeoutMs: 2000)
        api.close()
    }

    /// Our offer lists the rids lowest first (as Chrome does); Janus reads them highest first unless told
    /// `rid_order: "lmh"`, and would then take our lowest layer for its substream 2.
    private func publishJSEP(offer: String, simulcast: Bool) -> [String: Any] {
        var jsep: [String: Any] = ["type": "offer", "sdp": offer]
        if simulcast { jsep["rid_order"] = "lmh" }
        return jsep
    }

    // MARK: - Requests

    private func attach() throws -> Int64 {
        let reply = try api.request(["janus": "attach", "plugin": "janus.plugin.videoroom"], session: sessionID, handle: nil)
        guard let data = reply["data"] as? [String: Any], let id = Self.int64(data["id"]) else {
            throw LoadgenError.signalling("Janus attach: \(Self.brief(reply))")
        }
        return id
    }

    /// Sends a plugin message and returns the event Janus sends for it (matched by transaction), waiting at most 15 s.
    private func message(handle: Int64, body: [String: Any], jsep: [String: Any]? = nil) throws -> [String: Any] {
        let transaction = PeerTransport.randomToken(12)
        var request: [String: Any] = ["janus": "message", "transaction": transaction, "body": body]
        if let jsep { request["jsep"] = jsep }
        let reply = try api.request(request, session: sessionID, handle: handle)
        if (reply["janus"] as? String) == "event" { return try Self.checked(reply) }
        guard (reply["janus"] as? String) == "ack" else { throw LoadgenError.signalling("Janus message: \(Self.brief(reply))") }
        guard let event = try api.event(transaction: transaction, session: sessionID, timeoutMs: 15_000) else {
            throw LoadgenError.signalling("Janus: no event for \(body["request"] ?? "?") within 15 s")
        }
        return try Self.checked(event)
    }

    private static func checked(_ event: [String: Any]) throws -> [String: Any] {
        if let data = pluginData(event), let error = data["error"] {
            throw LoadgenError.signalling("Janus videoroom error \(data["error_code"] ?? "?"): \(error)")
        }
        return event
    }

    private static func pluginData(_ event: [String: Any]) -> [String: Any]? {
        (event["plugindata"] as? [String: Any])?["data"] as? [String: Any]
    }

    static func int64(_ value: Any?) -> Int64? {
        if let n = value as? NSNumber { return n.int64Value }
        if let n = value as? Int { return Int64(n) }
        return nil
    }

    private static func brief(_ object: [String: Any]) -> String {
        var copy = object
        copy["jsep"] = nil
        return String(describing: copy).prefix(300).description
    }
}
