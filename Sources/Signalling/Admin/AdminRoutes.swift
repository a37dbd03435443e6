import Foundation
import GroupwareBridge
import Hummingbird
import Logging
import JWTKit
import Scheduling

/// The admin API under `/api` (docs/http-api.md): rooms, personal join links, ending meetings, the audit trail.
/// Every route needs the admin key (AdminAuthMiddleware); every refusal is a thrown problem document.
public struct AdminRoutes: Sendable {
    /// Largest request body accepted.
    public static let maximumBodySize = 64 * 1024
    public static let defaultLinkLifetime = 86_400
    public static let maximumLinkLifetime = 30 * 86_400
    public static let maximumLinksPerRequest = 500

    let store: any RoomStore
    let hub: MeetingHub
    let tokens: TokenAuthority
    let key: AdminKey
    /// Base of the URLs handed out ("https://meet.example.gov.in"), without a trailing slash.
    let publicURL: String
    /// Scheduled meetings (`/api/meetings`, `/api/outbox`); nil leaves those routes out.
    let scheduler: MeetingScheduler?
    /// Attendance reports; nil leaves `/api/meetings/{id}/attendance` out.
    let reporter: AttendanceReporter?
    /// Where administrators' actions on rooms go in the audit trail.
    let audit: @Sendable (MeetingHub.AuditEvent) -> Void
    /// In a cluster: `/api/cluster` lists the nodes and the rooms each holds.
    let placement: RoomPlacement?
    /// The relays this node sends and receives (`/api/cluster`).
    let cascade: CascadeRelays?
    let logger: Logger

    public init(store: any RoomStore, hub: MeetingHub, tokens: TokenAuthority, key: AdminKey, publicURL: String,
                scheduler: MeetingScheduler? = nil, reporter: AttendanceReporter? = nil, audit: @escaping @Sendable (MeetingHub.AuditEvent) -> Void = { _ in },
                placement: RoomPlacement? = nil, cascade: CascadeRelays? = nil, logger: Logger) {
        self.cascade = cascade
        self.store = store
        self.placement = placement
        self.scheduler = scheduler
        self.reporter = reporter
        self.audit = audit
        self.hub = hub
        self.tokens = tokens
        self.key = key
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.logger = logger
    }

    public func register(on router: Router<some RequestContext>) {
        let api = router.group("api").add(middleware: AdminAuthMiddleware(key: key))
        if let placement { api.add(middleware: ClusterRedirectMiddleware(placement: placement)) }
        api.post("rooms") { request, _ in try await createRoom(request) }
        api.get("rooms") { _, _ in try await listRooms() }
        api.get("rooms/:room") { _, context in try await showRoom(try roomParameter(context)) }
        api.put("rooms/:room") { request, context in try await setRoomOptions(request, room: try roomParameter(context)) }
        api.delete("rooms/:room") { _, context in try await endRoom(try roomParameter(context)) }
        api.post("rooms/:room/links") { request, context in try await createLinks(request, room: try roomParameter(context)) }
        api.delete("rooms/:room/links/:link") { _, context in
            try await revokeLink(room: try roomParameter(context), id: try linkParameter(context))
        }
        api.post("rooms/:room/reopen") { _, context in try await reopenRoom(try roomParameter(context)) }
        api.get("rooms/:room/removed") { _, context in try removedList(try roomParameter(context)) }
        api.delete("rooms/:room/removed/:identity") { _, context in
            try await readmit(room: try roomParameter(context), identity: try identityParameter(context))
        }
        api.get("audit") { request, _ in try auditTrail(request) }
        if let placement { api.get("cluster") { _, _ in try await cluster(placement) } }
        registerRecording(on: api)
        // Outside the group: an administrator's key, or a host's link for that room, may export its chat.
        router.get("api/rooms/:room/chat") { request, context in
            let room = try roomParameter(context)
            try await authorizeHost(request, room: room, toDo: "export its chat")
            return try chatExport(request, room: room)
        }
        // Outside the group: any link for the room (or the admin key) may ask what the pre-join page must tell.
        router.get("api/rooms/:room/notice") { request, context in
            let room = try roomParameter(context)
            if (try? key.authorize(request.headers[.authorization])) == nil {
                do { _ = try await tokens.verify(authorization: request.headers[.authorization], room: room) } catch {
                    throw Self.notAuthorized("Send a link token for this room as 'Authorization: Bearer ...'.", realm: "sabha")
                }
            }
            return try json(AdminWire.Notice(recording: await hub.recordingStatus(room: room).recording))
        }
        registerHostRecordings(on: router)
        if let scheduler { registerMeetings(on: api, scheduler: scheduler) }
    }

    // MARK: - Handlers

    private func createRoom(_ request: Request) async throws(Problem) -> Response {
        let body = try await decode(AdminWire.CreateRoom.self, from: request, empty: AdminWire.CreateRoom())
        let live = await hub.liveRooms()
        let title = body.title?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let title, title.count > 200 { throw invalidField("'title' is limited to 200 characters") }
        let now = Date()
        // A generated name is retried on the (unlikely) collision; a requested one is the caller's to change.
        for _ in 0..<(body.name == nil ? 5 : 1) {
            let name = body.name ?? "room-" + Self.randomName(6)
            guard Self.isValidRoomName(name) else {
                throw Problem(status: 400, code: "bad-room-name", title: "Bad room name",
                              detail: "Room names are 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-' (not '.' or '..'); got '\(name.prefix(80))'.")
            }
            let room = RoomRecord(name: name, title: title.flatMap { $0.isEmpty ? nil : $0 } ?? name, createdAt: now, source: .api,
                                  lobby: body.lobby ?? false, waitForHost: body.waitForHost ?? false)
            let created = live[name] == nil ? try storeCall { try store.createRoom(room) } : false
            if created {
                logger.notice("room created", metadata: ["room": "\(name)"])
                return try json(AdminWire.CreatedRoom(name: name, title: room.title, createdAt: now, url: meetingURL(name),
                                                      lobby: room.lobby, waitForHost: room.waitForHost), status: .created)
            }
            if body.name != nil {
                throw Problem(status: 409, code: "room-exists", title: "Room exists",
                              detail: "There is already a room named '\(name)'; choose another name or use the existing room.")
            }
        }
        throw Problem(status: 500, code: "store-failed", title: "No free room name", detail: "Could not find an unused room name; try again.")
    }

    /// In a cluster, a meeting another node runs is counted from that node's last heartbeat (at most 2 s old).
    private func listRooms() async throws(Problem) -> Response {
        let here = await hub.liveRooms()
        var elsewhere: [String: Int] = [:]
        if let placement {
            for node in placement.liveNodes() where node.id != placement.node {
                for (room, count) in node.people where here[room] == nil { elsewhere[room, default: 0] += count }
            }
        }
        let live = here.mapValues(\.count).merging(elsewhere) { mine, _ in mine }
        let stored = try storeCall { try store.rooms() }
        let storedNames = Set(stored.map(\.name))
        let unstored = live.keys.filter { !storedNames.contains($0) }.sorted().map {
            AdminWire.RoomSummary(name: $0, title: $0, createdAt: nil, source: RoomRecord.Source.join.rawValue, endedAt: nil,
                                  closedAt: nil, participants: live[$0] ?? 0, url: meetingURL($0), lobby: false, waitForHost: false)
        }
        let rows = unstored + stored.map {
            AdminWire.RoomSummary(name: $0.name, title: $0.title, createdAt: $0.createdAt, source: $0.source.rawValue,
                                  endedAt: $0.endedAt, closedAt: $0.closedAt, participants: live[$0.name] ?? 0, url: meetingURL($0.name),
                                  lobby: $0.lobby, waitForHost: $0.waitForHost)
        }
        return try json(rows)
    }

    private func showRoom(_ name: String) async throws(Problem) -> Response {
        let participants = await hub.liveRooms()[name]
        let stored = try storeCall { try store.room(named: name) }
        guard stored != nil || participants != nil else { throw roomNotFound(name) }
        let removed = try storeCall { try store.removals(from: name) }
        return try json(AdminWire.RoomDetail(name: name, title: stored?.title ?? name, createdAt: stored?.createdAt,
                                         source: (stored?.source ?? .join).rawValue, endedAt: stored?.endedAt, closedAt: stored?.closedAt,
                                         url: meetingURL(name), lobby: stored?.lobby ?? false, waitForHost: stored?.waitForHost ?? false,
                                         participants: participants ?? [],
                                         removed: removed.map(AdminWire.RemovedPerson.init)))
    }

    /// Changes a room's lobby and wait-for-host. Takes effect for the next joiner; turning the lobby off lets in whoever
    /// waits in it.
    private func setRoomOptions(_ request: Request, room name: String) async throws(Problem) -> Response {
        let body = try await decode(AdminWire.RoomOptions.self, from: request, empty: nil)
        guard try storeCall({ try store.setRoomOptions(name, lobby: body.lobby, waitForHost: body.waitForHost) }) else {
            throw roomNotFound(name)
        }
        await hub.roomOptionsChanged(name)
        logger.notice("room options changed", metadata: ["room": "\(name)", "lobby": "\(body.lobby.map(String.init) ?? "-")",
                                                         "waitForHost": "\(body.waitForHost.map(String.init) ?? "-")"])
        return try await showRoom(name)
    }

    /// The admin key, or a host's token for `room` (or the token of someone a host made a co-host in its meeting);
    /// `toDo` completes "Only a host of this room or an administrator may …".
    func authorizeHost(_ request: Request, room: String, toDo: String) async throws(Problem) {
        let authorization = request.headers[.authorization]
        if (try? key.authorize(authorization)) != nil { return }
        do {
            let token = try await tokens.verify(authorization: authorization, room: room)
            let coHost = await hub.isCoHost(token.identity, room: room)
            guard token.role == .host || coHost else {
                throw Problem(status: 403, code: "not-host", title: "Not a host", detail: "Only a host of this room or an administrator may \(toDo).")
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Self.notAuthorized("Send the admin key, or a host's link token for this room, as 'Authorization: Bearer ...'.", realm: "sabha-admin")
        }
    }

    /// 401 for a room's routes that a link token opens, naming the bearer realm.
    static func notAuthorized(_ detail: String, realm: String) -> Problem {
        var refusal = Problem(status: 401, code: "not-authorized", title: "Not authorized", detail: detail)
        refusal.headers[.wwwAuthenticate] = "Bearer realm=\"\(realm)\""
        return refusal
    }

    /// The room's chat, oldest first: JSON, or one line a message when asked for `text/plain`.
    private func chatExport(_ request: Request, room: String) throws(Problem) -> Response {
        let messages = try storeCall { try store.chat(room: room) }
        let wantsText = (request.headers[.accept] ?? "").contains("text/plain")
        guard wantsText else { return try json(AdminWire.Chat(room: room, messages: messages.map(MeetingHub.chatInfo))) }
        let lines = messages.map { message in
            "[\(MeetingWire.timestamp(message.at))] \(message.name) <\(message.identity)>: " +
                message.text.replacingOccurrences(of: "\n", with: "\n    ")
        }
        let text = lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"\(room)-chat.txt\""],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Ends the meeting for everyone and closes the room (also to WHIP and WHEP) until `POST .../reopen`.
    private func endRoom(_ name: String) async throws(Problem) -> Response {
        let stored = try storeCall { try store.room(named: name) }
        let live = await hub.liveRooms()[name] != nil
        guard stored != nil || live else { throw roomNotFound(name) }
        let count = await hub.endMeeting(room: name, reason: "ended", closedBy: "admin")
        guard try storeCall({ try store.closure(of: name) }) != nil else {
            throw Problem(status: 500, code: "store-failed", title: "Database error", detail: "The meeting ended, but the room could not be closed; see the server log.")
        }
        logger.notice("meeting ended by the admin API; room closed", metadata: ["room": "\(name)", "participants": "\(count)"])
        return try json(AdminWire.Ended(ended: true, participants: count, closed: true))
    }

    /// Opens a room a host or an administrator ended, so its links admit again.
    private func reopenRoom(_ name: String) async throws(Problem) -> Response {
        guard try storeCall({ try store.room(named: name) }) != nil else { throw roomNotFound(name) }
        let reopened = try storeCall { try store.reopenRoom(name) }
        if reopened {
            audit(MeetingHub.AuditEvent(room: name, identity: "", participant: "", event: "room-reopened", actor: "admin"))
            logger.notice("room reopened by the admin API", metadata: ["room": "\(name)"])
        }
        return try json(AdminWire.Reopened(name: name, reopened: reopened))
    }

    private func removedList(_ room: String) throws(Problem) -> Response {
        try json(AdminWire.Removed(removed: try storeCall { try store.removals(from: room) }.map(AdminWire.RemovedPerson.init)))
    }

    /// Lets someone a host removed back in.
    private func readmit(room: String, identity: String) async throws(Problem) -> Response {
        guard try storeCall({ try store.readmit(identity, to: room) }) else {
            throw Problem(status: 404, code: "not-removed", title: "Not removed",
                          detail: "'\(identity.prefix(128))' is not removed from room '\(room.prefix(80))'; GET /api/rooms/\(room.prefix(80))/removed lists who is.")
        }
        audit(MeetingHub.AuditEvent(room: room, identity: identity, participant: "", event: "readmitted", actor: "admin"))
        await hub.readmitted(identity, room: room)
        logger.notice("removed participant let back in by the admin API", metadata: ["room": "\(room)", "identity": "\(identity)"])
        return try json(AdminWire.Readmitted(identity: identity, readmitted: true))
    }

    /// Withdraws one link by its id (the token's `jti`): it admits nobody any more, and whoever is in with it now is
    /// sent out (WHIP/WHEP sessions opened with it end).
    private func revokeLink(room: String, id: String) async throws(Problem) -> Response {
        let fresh = try storeCall { try store.revokeLink(id, room: room) }
        let disconnected = await hub.dismiss(room: room, tokenID: id)
        if fresh {
            audit(MeetingHub.AuditEvent(room: room, identity: "", participant: "", event: "link-revoked", actor: "admin", detail: id))
        }
        logger.notice("link revoked by the admin API", metadata: ["room": "\(room)", "link": "\(id)", "disconnected": "\(disconnected)"])
        return try json(AdminWire.Revoked(id: id, revoked: true, disconnected: disconnected))
    }

    private func createLinks(_ request: Request, room: String) async throws(Problem) -> Response {
        guard try storeCall({ try store.room(named: room) }) != nil else { throw roomNotFound(room) }
        let body = try await decode(AdminWire.LinkRequest.self, from: request, empty: nil)
        guard !body.participants.isEmpty, body.participants.count <= Self.maximumLinksPerRequest else {
            throw invalidField("'participants' needs 1 to \(Self.maximumLinksPerRequest) entries")
        }
        let ttl = body.ttl ?? Self.defaultLinkLifetime
        guard (1...Self.maximumLinkLifetime).contains(ttl) else {
            throw invalidField("'ttl' is in seconds, from 1 to \(Self.maximumLinkLifetime) (30 days); got \(ttl)")
        }
        var links: [AdminWire.Links.Link] = []
        for (index, entry) in body.participants.enumerated() {
            guard !entry.identity.isEmpty, entry.identity.utf8.count <= 128 else {
                throw invalidField("participants[\(index)].identity must be 1 to 128 bytes")
            }
            guard let role = ParticipantRole(rawValue: entry.role), role != .publisher else {
                throw invalidField("participants[\(index)].role must be host, participant or viewer; got '\(entry.role.prefix(40))'")
            }
            if let name = entry.name, name.count > 80 { throw invalidField("participants[\(index)].name is limited to 80 characters") }
            let claims = AccessToken(identity: entry.identity, room: room, role: role, name: entry.name, lifetime: TimeInterval(ttl))
            let token: String
            do {
                token = try await tokens.issue(claims)
            } catch {
                logger.error("token not signed", metadata: ["room": "\(room)", "error": "\(error)"])
                throw Problem(status: 500, code: "token-signing-failed", title: "Token not signed", detail: "\(error)")
            }
            links.append(.init(id: claims.tokenID ?? "", identity: entry.identity, role: role.rawValue, token: token,
                               url: meetingURL(room) + "?t=" + token, expiresAt: claims.expiration.value))
        }
        logger.info("links issued", metadata: ["room": "\(room)", "count": "\(links.count)", "ttl": "\(ttl)"])
        return try json(AdminWire.Links(links: links))
    }

    /// The audit trail, filtered by room and time (`from` inclusive, `to` exclusive, RFC 3339), newest or oldest
    /// first; JSON, or CSV for an auditor's spreadsheet (`Accept: text/csv` or `?format=csv`).
    private func auditTrail(_ request: Request) throws(Problem) -> Response {
        let query = request.uri.queryParameters
        let room = query.get("room").flatMap { $0.isEmpty ? nil : $0 }
        var limit = 100
        if let text = query.get("limit") {
            guard let value = Int(text), value > 0 else { throw invalidField("'limit' must be a positive whole number; got '\(text.prefix(20))'") }
            limit = min(value, Self.maxAuditRows)
        }
        func time(_ name: String) throws(Problem) -> Date? {
            guard let text = query.get(name), !text.isEmpty else { return nil }
            guard let date = AdminWire.parseTime(text) else {
                throw invalidField("'\(name)' must be a time such as 2026-12-01T00:00:00Z or 2026-12-01T05:30:00+05:30; got '\(text.prefix(40))'")
            }
            return date
        }
        let from = try time("from"), to = try time("to")
        if let from, let to, from >= to { throw invalidField("'from' must be before 'to'") }
        let order = query.get("order") ?? "newest"
        guard order == "newest" || order == "oldest" else { throw invalidField("'order' is newest or oldest; got '\(order.prefix(20))'") }
        let records = try storeCall { try store.auditTrail(room: room, from: from, to: to, oldestFirst: order == "oldest", limit: limit) }
        let wantsCSV = (request.headers[.accept] ?? "").contains("text/csv") || query.get("format") == "csv"
        guard wantsCSV else { return try json(records) }
        var csv = CSV.row(["id", "at", "room", "identity", "participant", "event", "address", "actor", "detail"])
        let formatter = ISO8601DateFormatter()
        for r in records {
            csv += CSV.row([r.id.map(String.init) ?? "", formatter.string(from: r.at), r.room, r.identity, r.participant, r.event,
                            r.address ?? "", r.actor ?? "", r.detail ?? ""])
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"audit.csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: csv)))
    }

    /// Rows one audit request returns at most (an export of a busy month fits).
    static let maxAuditRows = 100_000

    // MARK: - Helpers

    /// `[A-Za-z0-9._-]{1,64}`, but not "." or "..", which a URL path would swallow.
    public static func isValidRoomName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    static func randomName(_ count: Int) -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        return String((0..<count).map { _ in alphabet.randomElement()! })
    }

    func meetingURL(_ room: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "\(publicURL)/m/\(room.addingPercentEncoding(withAllowedCharacters: allowed) ?? room)"
    }

    func roomParameter(_ context: some RequestContext) throws(Problem) -> String {
        guard let raw = context.parameters.get("room"), let name = raw.removingPercentEncoding, !name.isEmpty, name.utf8.count <= 128 else {
            throw Problem(status: 400, code: "bad-path", title: "Bad path", detail: "The room path segment is missing or longer than 128 bytes.")
        }
        return name
    }

    /// A link id as `AccessToken` makes them (hex), or any other short token id: 1 to 64 of A-Z a-z 0-9 - _.
    private func linkParameter(_ context: some RequestContext) throws(Problem) -> String {
        guard let id = context.parameters.get("link"), (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"): true
            default: false
            }
        }) else {
            throw Problem(status: 400, code: "bad-path", title: "Bad path", detail: "The link id is 1 to 64 of A-Z, a-z, 0-9, '-' and '_' (the 'id' of a link).")
        }
        return id
    }

    private func identityParameter(_ context: some RequestContext) throws(Problem) -> String {
        guard let raw = context.parameters.get("identity"), let identity = raw.removingPercentEncoding, !identity.isEmpty, identity.utf8.count <= 128 else {
            throw Problem(status: 400, code: "bad-path", title: "Bad path", detail: "The identity path segment is missing or longer than 128 bytes.")
        }
        return identity
    }

    private func roomNotFound(_ name: String) -> Problem {
        Problem(status: 404, code: "room-not-found", title: "No such room",
                detail: "There is no room named '\(name.prefix(80))': create it with POST /api/rooms (or 'sabha room create').")
    }

    func invalidField(_ detail: String) -> Problem {
        Problem(status: 400, code: "invalid-field", title: "Invalid request", detail: detail)
    }

    func storeCall<T>(_ body: () throws -> T) throws(Problem) -> T {
        do {
            return try body()
        } catch {
            logger.error("store failed", metadata: ["error": "\(error)"])
            throw Problem(status: 500, code: "store-failed", title: "Database error", detail: "The server's database refused the request; see its log.")
        }
    }

    /// JSON bodies of at most `maximumBodySize` bytes, of any declared type.
    static let bodyReader = RequestBodyReader(
        maximumSize: maximumBodySize,
        tooLarge: Problem(status: 413, code: "body-too-large", title: "Request too large",
                          detail: "Admin API requests are limited to \(maximumBodySize) bytes."))

    /// Reads a JSON body; an empty body is `empty` when given.
    func decode<T: Decodable>(_ type: T.Type, from request: Request, empty: T?) async throws(Problem) -> T {
        try await Self.bodyReader.json(type, of: request, decoder: AdminWire.makeDecoder(), empty: empty)
    }

    /// The nodes sharing this database: alive while their heartbeat is under `ClusterNode.deadAfter` old.
    /// The relays are the answering node's own (`CascadeRelays`): those it sends (`out`) and receives (`in`).
    private func cluster(_ placement: RoomPlacement) async throws(Problem) -> Response {
        struct Node: Encodable {
            var id: String
            var url: String
            var startedAt: Date
            var heartbeatAt: Date
            var alive: Bool
            var rooms: [String]
            var viewers: Int
            var maxViewers: Int
            var publishers: Int
            var maxPublishers: Int
        }
        struct Cluster: Encodable {
            var node: String
            var nodes: [Node]
            var relays: CascadeRelays.RelaysView
        }
        let now = Date()
        let nodes = try storeCall { try placement.store.nodes() }
        let relays = await cascade?.snapshot() ?? CascadeRelays.RelaysView()
        return try json(Cluster(node: placement.node, nodes: nodes.map {
            Node(id: $0.id, url: $0.id, startedAt: $0.startedAt, heartbeatAt: $0.heartbeatAt, alive: $0.isAlive(at: now), rooms: $0.rooms,
                 viewers: $0.viewers, maxViewers: $0.maxViewers, publishers: $0.publishers, maxPublishers: $0.maxPublishers)
        }, relays: relays))
    }

    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws(Problem) -> Response {
        let data: Data
        do {
            data = try AdminWire.makeEncoder().encode(value)
        } catch {
            throw Problem(status: 500, code: "encoding-failed", title: "Response not encoded", detail: "\(error)")
        }
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
