import Foundation
import Glibc
import Synchronization

/// Janus's videoroom over its HTTP API (`http://127.0.0.1:8088/janus`), so the same peers load Janus as Sabha.
///
/// One Janus session holds every handle of the run. Publishers: attach `janus.plugin.videoroom`, then
/// `joinandconfigure` (join as publisher and publish in one request) with our offer; Janus answers in an event.
/// Subscribers: attach, `join` as subscriber with `streams: [{feed}]`; Janus sends an offer in the event, we
/// answer with `start` + jsep. Events come from long-polls (`GET /janus/<session>`), done only while a request
/// waits for its event (signalling is sequential, on the main thread); a background thread sends `keepalive`
/// every 20 s so the session outlives Janus's 60 s timeout during the measurement window.
final class JanusVideoroomClient: SignallingClient, @unchecked Sendable {
    let http: HTTPClient
    let basePath: String
    let room: Int
    private let sessionID: Int64
    /// identity → Janus feed (publisher) id; main thread only.
    private var feeds: [String: Int64] = [:]
    private let keepAlive: KeepAlive

    /// `url` is like `http://127.0.0.1:8088/janus` (loopback only).
    init(url: String, room: Int) throws {
        http = try HTTPClient(url: url)
        let afterScheme = url.dropFirst("http://".count)
        basePath = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? "/janus"
        self.room = room
        let created = try Self.post(http, basePath, ["janus": "create"])
        guard let data = created["data"] as? [String: Any], let id = Self.int64(data["id"]) else {
            throw LoadgenError.signalling("Janus create: \(created)")
        }
        sessionID = id
        keepAlive = KeepAlive(http: http, path: "\(basePath)/\(id)")
        keepAlive.start()
    }

    func publish(identity: String, local: LocalPeerDescription) throws -> SignalledSession {
        let handle = try attach()
        var local = local
        local.setup = "active"  // Janus answering actpass would take the DTLS client role; our peers are clients
        let offer = SDP.offer(local, sessionID: UInt64.random(in: 1...(UInt64(1) << 62)))
        let event = try message(handle: handle, body: [
            "request": "joinandconfigure", "ptype": "publisher", "room": room, "display": identity,
            "audio": true, "video": true,
        ], jsep: ["type": "offer", "sdp": offer])
        guard let data = Self.pluginData(event), let feed = Self.int64(data["id"]) else {
            throw LoadgenError.signalling("Janus joinandconfigure: no publisher id in \(Self.brief(event))")
        }
        guard let jsep = event["jsep"] as? [String: Any], let sdp = jsep["sdp"] as? String else {
            throw LoadgenError.signalling("Janus joinandconfigure: no answer in \(Self.brief(event))")
        }
        feeds[identity] = feed
        return SignalledSession(remote: try SDP.read(sdp), resource: "\(basePath)/\(sessionID)/\(handle)")
    }

    func subscribe(identity: String, publisher: String, local: LocalPeerDescription) throws -> SignalledSession {
        guard let feed = feeds[publisher] else { throw LoadgenError.signalling("Janus: publisher \(publisher) has no feed id") }
        let handle = try attach()
        let event = try message(handle: handle, body: [
            "request": "join", "ptype": "subscriber", "room": room, "streams": [["feed": feed]],
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
        return SignalledSession(remote: remote, resource: "\(basePath)/\(sessionID)/\(handle)", serverOffered: true)
    }

    func end(_ session: SignalledSession, identity: String) -> Bool {
        guard !session.resource.isEmpty else { return false }
        var client = http
        client.timeoutMs = 2000
        let reply = try? Self.post(client, session.resource, ["janus": "detach"])
        return (reply?["janus"] as? String) == "success"
    }

    func close() {
        keepAlive.stop()
        var client = http
        client.timeoutMs = 2000
        _ = try? Self.post(client, "\(basePath)/\(sessionID)", ["janus": "destroy"])
    }

    // MARK: - Requests

    private func attach() throws -> Int64 {
        let reply = try Self.post(http, "\(basePath)/\(sessionID)", ["janus": "attach", "plugin": "janus.plugin.videoroom"])
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
        let reply = try Self.post(http, "\(basePath)/\(sessionID)/\(handle)", request, transaction: transaction)
        if (reply["janus"] as? String) == "event" { return try Self.checked(reply) }
        guard (reply["janus"] as? String) == "ack" else { throw LoadgenError.signalling("Janus message: \(Self.brief(reply))") }
        let deadline = Date().addingTimeInterval(15)
        var client = http
        client.timeoutMs = 35_000
        for _ in 0..<1000 where Date() < deadline {
            let response = try client.request("GET", "\(basePath)/\(sessionID)?maxev=10&rid=\(UInt32.random(in: 0...UInt32.max))")
            let json = try? JSONSerialization.jsonObject(with: Data(response.body))
            let events = (json as? [[String: Any]]) ?? ((json as? [String: Any]).map { [$0] } ?? [])
            for event in events where (event["transaction"] as? String) == transaction && (event["janus"] as? String) == "event" {
                return try Self.checked(event)
            }
        }
        throw LoadgenError.signalling("Janus: no event for \(body["request"] ?? "?") within 15 s")
    }

    private static func checked(_ event: [String: Any]) throws -> [String: Any] {
        if let data = pluginData(event), let error = data["error"] {
            throw LoadgenError.signalling("Janus videoroom error \(data["error_code"] ?? "?"): \(error)")
        }
        return event
    }

    static func post(_ http: HTTPClient, _ path: String, _ object: [String: Any], transaction: String? = nil) throws -> [String: Any] {
        var object = object
        if object["transaction"] == nil { object["transaction"] = transaction ?? PeerTransport.randomToken(12) }
        let body = try JSONSerialization.data(withJSONObject: object)
        let response = try http.request("POST", path, headers: [("Content-Type", "application/json")], body: Array(body))
        guard response.status == 200, let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw LoadgenError.signalling("Janus POST \(path) answered \(response.status): \(response.text.prefix(300))")
        }
        if (json["janus"] as? String) == "error" {
            throw LoadgenError.signalling("Janus \(object["janus"] ?? "?"): \(json["error"] ?? "")")
        }
        return json
    }

    private static func pluginData(_ event: [String: Any]) -> [String: Any]? {
        (event["plugindata"] as? [String: Any])?["data"] as? [String: Any]
    }

    private static func int64(_ value: Any?) -> Int64? {
        if let n = value as? NSNumber { return n.int64Value }
        if let n = value as? Int { return Int64(n) }
        return nil
    }

    private static func brief(_ object: [String: Any]) -> String {
        var copy = object
        copy["jsep"] = nil
        return String(describing: copy).prefix(300).description
    }

    /// `keepalive` every 20 s on its own thread until `stop` (or 24 h).
    final class KeepAlive: Sendable {
        let http: HTTPClient
        let path: String
        private let stopped = Atomic<Bool>(false)
        private let done = Atomic<Bool>(false)

        init(http: HTTPClient, path: String) {
            self.http = http
            self.path = path
        }

        func start() {
            let thread = Thread { [self] in
                var client = http
                client.timeoutMs = 5000
                for second in 1...(24 * 3600) {
                    if stopped.load(ordering: .relaxed) { break }
                    sleep(1)
                    if second % 20 == 0 { _ = try? JanusVideoroomClient.post(client, path, ["janus": "keepalive"]) }
                }
                done.store(true, ordering: .relaxed)
            }
            thread.start()
        }

        func stop() {
            stopped.store(true, ordering: .relaxed)
            for _ in 0..<30 where !done.load(ordering: .relaxed) { usleep(50_000) }
        }
    }
}
