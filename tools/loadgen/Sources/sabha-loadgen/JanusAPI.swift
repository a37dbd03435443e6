import CLoadgenNet
import Foundation
import Glibc
import Synchronization

/// How Janus requests travel: the same JSON messages over its WebSocket API or its HTTP API.
protocol JanusAPI: Sendable {
    /// Sends one request (`session`/`handle` name its target) and returns Janus's immediate reply
    /// (`success`, `ack`, an `event`, or throws on `error`).
    func request(_ object: [String: Any], session: Int64?, handle: Int64?, timeoutMs: Int) throws -> [String: Any]
    /// The plugin `event` that follows an `ack` for `transaction`, or nil after `timeoutMs`.
    func event(transaction: String, session: Int64, timeoutMs: Int) throws -> [String: Any]?
    func startKeepAlive(session: Int64)
    func stopKeepAlive()
    func close()
}

extension JanusAPI {
    func request(_ object: [String: Any], session: Int64?, handle: Int64?) throws -> [String: Any] {
        try request(object, session: session, handle: handle, timeoutMs: 10_000)
    }

    static func checkedReply(_ json: [String: Any], for object: [String: Any]) throws -> [String: Any] {
        if (json["janus"] as? String) == "error" {
            throw LoadgenError.signalling("Janus \(object["janus"] ?? "?"): \(json["error"] ?? "")")
        }
        return json
    }
}

/// Janus's WebSocket API (`ws://127.0.0.1:8188`, subprotocol `janus-protocol`): requests carry `session_id` and
/// `handle_id`; replies and events come back on the one connection, matched here by transaction.
final class JanusWebSocketAPI: JanusAPI {
    private let socket: WebSocketClient
    /// Messages by transaction, until someone takes them. Messages without one (webrtcup, media, hangup)
    /// and keepalive acks are dropped as they arrive.
    private let inbox = Inbox()

    final class Inbox: Sendable {
        let messages = Mutex<[String: [String]]>([:])
    }
    private let keepAlive = KeepAliveThread()

    init(url: String) throws {
        let inbox = self.inbox
        socket = try WebSocketClient(url: url, subprotocol: "janus-protocol") { text in
            guard let transaction = Self.transaction(in: text), !transaction.hasPrefix("keepalive-") else {
                return
            }
            inbox.messages.withLock { $0[transaction, default: []].append(text) }
        }
    }

    /// The transaction of a Janus message, read without parsing the whole JSON on the reader thread.
    static func transaction(in text: String) -> String? {
        guard let range = text.range(of: "\"transaction\":\"") else { return nil }
        let rest = text[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    func request(_ object: [String: Any], session: Int64?, handle: Int64?, timeoutMs: Int) throws -> [String: Any] {
        var object = object
        let transaction = object["transaction"] as? String ?? PeerTransport.randomToken(12)
        object["transaction"] = transaction
        if let session { object["session_id"] = session }
        if let handle { object["handle_id"] = handle }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        try socket.send(body)
        // The first message for this transaction is the reply (an event may follow later for `message`).
        guard let reply = try take(transaction: transaction, where: { _ in true }, timeoutMs: timeoutMs) else {
            throw LoadgenError.signalling("Janus \(object["janus"] ?? "?") over WebSocket: no reply within \(timeoutMs) ms")
        }
        return try Self.checkedReply(reply, for: object)
    }

    func event(transaction: String, session: Int64, timeoutMs: Int) throws -> [String: Any]? {
        try take(transaction: transaction, where: { ($0["janus"] as? String) == "event" }, timeoutMs: timeoutMs)
    }

    /// Waits for the first message of `transaction` that `accept` takes (earlier ones are discarded).
    private func take(transaction: String, where accept: ([String: Any]) -> Bool, timeoutMs: Int) throws -> [String: Any]? {
        let deadline = lg_monotonic_ns() + Int64(timeoutMs) * 1_000_000
        while lg_monotonic_ns() < deadline {
            let texts = inbox.messages.withLock { $0.removeValue(forKey: transaction) ?? [] }
            var rest: [String] = []
            var found: [String: Any]?
            for text in texts {
                guard found == nil else { rest.append(text); continue }
                if let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], accept(json) {
                    found = json
                }
            }
            if !rest.isEmpty { inbox.messages.withLock { $0[transaction, default: []].insert(contentsOf: rest, at: 0) } }
            if let found { return found }
            guard socket.isOpen else { throw LoadgenError.signalling("Janus closed the WebSocket") }
            usleep(500)
        }
        return nil
    }

    func startKeepAlive(session: Int64) {
        keepAlive.start { [socket] tick in
            try? socket.send("{\"janus\":\"keepalive\",\"session_id\":\(session),\"transaction\":\"keepalive-\(tick)\"}")
        }
    }

    func stopKeepAlive() { keepAlive.stop() }

    func close() { socket.close() }
}

/// Janus's HTTP API (`http://127.0.0.1:8088/janus`): requests are POSTs to `/janus/<session>/<handle>`; events
/// come from long-polls (`GET /janus/<session>`), done only while a request waits for its event.
final class JanusHTTPAPI: JanusAPI {
    let http: HTTPClient
    let basePath: String
    private let keepAlive = KeepAliveThread()

    init(url: String) throws {
        http = try HTTPClient(url: url)
        let afterScheme = url.dropFirst("http://".count)
        basePath = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? "/janus"
    }

    private func path(session: Int64?, handle: Int64?) -> String {
        var path = basePath
        if let session { path += "/\(session)" }
        if let handle { path += "/\(handle)" }
        return path
    }

    func request(_ object: [String: Any], session: Int64?, handle: Int64?, timeoutMs: Int) throws -> [String: Any] {
        var object = object
        if object["transaction"] == nil { object["transaction"] = PeerTransport.randomToken(12) }
        var client = http
        client.timeoutMs = timeoutMs
        let body = try JSONSerialization.data(withJSONObject: object)
        let target = path(session: session, handle: handle)
        let response = try client.request("POST", target, headers: [("Content-Type", "application/json")], body: Array(body))
        guard response.status == 200, let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw LoadgenError.signalling("Janus POST \(target) answered \(response.status): \(response.text.prefix(300))")
        }
        return try Self.checkedReply(json, for: object)
    }

    func event(transaction: String, session: Int64, timeoutMs: Int) throws -> [String: Any]? {
        let deadline = lg_monotonic_ns() + Int64(timeoutMs) * 1_000_000
        var client = http
        client.timeoutMs = 35_000
        for _ in 0..<1000 where lg_monotonic_ns() < deadline {
            let response = try client.request("GET", "\(path(session: session, handle: nil))?maxev=10&rid=\(UInt32.random(in: 0...UInt32.max))")
            let json = try? JSONSerialization.jsonObject(with: Data(response.body))
            let events = (json as? [[String: Any]]) ?? ((json as? [String: Any]).map { [$0] } ?? [])
            for event in events where (event["transaction"] as? String) == transaction && (event["janus"] as? String) == "event" {
                return event
            }
        }
        return nil
    }

    func startKeepAlive(session: Int64) {
        keepAlive.start { [self] _ in _ = try? request(["janus": "keepalive"], session: session, handle: nil, timeoutMs: 5000) }
    }

    func stopKeepAlive() { keepAlive.stop() }

    func close() {}
}

/// Calls `body` every 20 s on its own thread (Janus drops a session after 60 s without a request) until `stop`.
final class KeepAliveThread: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let done = Atomic<Bool>(true)

    func start(_ body: @escaping @Sendable (Int) -> Void) {
        done.store(false, ordering: .relaxed)
        let thread = Thread { [self] in
            for second in 1...(24 * 3600) {
                if stopped.load(ordering: .relaxed) { break }
                sleep(1)
                if second % 20 == 0 { body(second / 20) }
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
