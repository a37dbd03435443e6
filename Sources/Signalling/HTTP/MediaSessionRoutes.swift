import Foundation
import HTTPTypes
import GroupwareBridge
import Hummingbird
import Logging
import MediaCore

/// WHIP (RFC 9725) and WHEP endpoints: an SDP offer in, `201 Created` with the answer and a session
/// `Location` out; `DELETE` on the location ends the session. Non-trickle: our ICE-lite answer carries the
/// one candidate, so `PATCH` (trickle, ICE restart) is answered `405`.
public struct MediaSessionRoutes: Sendable {
    /// Largest SDP offer accepted (browsers send 5–15 KB; simulcast with many codecs stays under 32 KB).
    public static let maximumOfferSize = 64 * 1024

    let service: SessionService
    let tokens: TokenAuthority
    /// Scheduled meetings' windows and roles, closed rooms, removed people, withdrawn links.
    let access: RoomAccess
    /// `sessionsPerToken` bounds what one token holds open.
    let limits: SignallingLimits
    let counters: LimitCounters
    /// TURN relays announced in `Link` headers of each `201 Created` (RFC 9725 section 4.4), nil for none.
    let turn: TURNConfiguration?
    let logger: Logger
    /// `application/sdp` of at most `maximumOfferSize` bytes; a larger offer is counted (limit `offer-size`).
    let offerReader: RequestBodyReader
    /// In a cluster: viewers of a room held by another node, served here through a relay from it.
    let cascade: CascadeRelays?
    /// This node's viewers, WHEP and meeting ones together (nil: its WHEP viewers), for `--max-viewers`.
    let capacity: NodeCapacity?

    public init(service: SessionService, tokens: TokenAuthority, access: RoomAccess, limits: SignallingLimits = SignallingLimits(),
                counters: LimitCounters = LimitCounters(), turn: TURNConfiguration? = nil, cascade: CascadeRelays? = nil, capacity: NodeCapacity? = nil,
                logger: Logger) {
        self.service = service
        self.cascade = cascade
        self.capacity = capacity
        self.turn = turn
        self.tokens = tokens
        self.access = access
        self.limits = limits
        self.counters = counters
        self.logger = logger
        self.offerReader = RequestBodyReader(
            maximumSize: Self.maximumOfferSize,
            tooLarge: Problem(status: 413, code: "offer-too-large", title: "Offer too large",
                              detail: "SDP offers are limited to \(Self.maximumOfferSize) bytes."),
            expected: .init(mediaType: "application/sdp", title: "SDP offer expected", what: "the offer"),
            refusedForSize: { counters.count(.offerSize) })
    }

    public func register(on router: Router<some RequestContext>) {
        router.post("/whip/:room") { request, context in
            let room = try parameter(context, "room")
            let token = try await authorize(request, room: room)
            if let redirect = try redirect(request, token) { return redirect }
            guard token.role.mayPublish else { throw TokenRejection.roleNotAllowed(token.role).problem }
            let offer = try await readOffer(request, intent: .publish)
            let key = try await reserveSession(request, token)
            do throws(Problem) {
                return try await service.publish(room: room, identity: token.identity, offer: offer, tokenID: token.tokenID,
                                                 tokenKey: key).response(turn: turn)
            } catch {
                await service.registry.release(token: key)
                throw error
            }
        }
        router.post("/whep/:room/:identity") { request, context in
            let room = try parameter(context, "room")
            let publisher = try parameter(context, "identity")
            let token = try await authorize(request, room: room)
            switch try await placeViewer(request, token) {
            case .here:
                break
            case .redirect(let response):
                return response
            case .relayed(let origin):
                guard let cascade else { break }
                try await cascade.relay(room: room, publisher: publisher, from: origin)
                logger.info("viewer served through a relay from \(origin)", metadata: ["room": "\(room)", "publisher": "\(publisher)",
                                                                                      "identity": "\(token.identity)"])
            }
            let offer = try await readOffer(request, intent: .subscribe)
            let key = try await reserveSession(request, token)
            do throws(Problem) {
                return try await service.watch(room: room, identity: token.identity, publisherIdentity: publisher, offer: offer,
                                               tokenID: token.tokenID, tokenKey: key).response(turn: turn)
            } catch {
                await service.registry.release(token: key)
                throw error
            }
        }
        router.delete("/whip/:room/:session") { request, context in try await endSession(request, context, kind: .whip) }
        router.delete("/whep/:room/:identity/:session") { request, context in try await endSession(request, context, kind: .whep) }
        for path in ["/whip/:room/:session", "/whep/:room/:identity/:session"] {
            router.patch(RouterPath(path)) { _, _ -> Response in
                throw Problem(status: 405, code: "trickle-not-supported", title: "Trickle ICE not supported",
                              detail: "Sabha answers with its ICE-lite candidate; send every candidate in the offer (non-trickle WHIP/WHEP).",
                              headers: [.allow: "DELETE"])
            }
        }
        for path in ["/whip/:room", "/whep/:room/:identity"] {
            router.on(RouterPath(path), method: .options) { request, context in
                var headers: HTTPFields = [
                    .allow: "OPTIONS, POST",
                    HTTPField.Name("Accept-Post")!: "application/sdp",
                    .accessControlAllowMethods: "OPTIONS, POST, DELETE",
                    .accessControlAllowHeaders: "Authorization, Content-Type",
                    .accessControlExposeHeaders: "Location, Link",
                ]
                for value in await preflightLinks(request, context) { headers.append(HTTPField(name: .link, value: value)) }
                return Response(status: .noContent, headers: headers)
            }
        }
    }

    /// The relays for an `OPTIONS` that carries a token valid for the room (RFC 9725 section 4.4 lets the endpoint
    /// answer it with the ICE servers), so a client can build its peer connection with them before it offers. Without
    /// a valid token (a browser's CORS preflight carries none) there are no credentials to hand out, and the answer is
    /// the plain 204. The credentials name a fresh random id: there is no session yet.
    private func preflightLinks(_ request: Request, _ context: some RequestContext) async -> [String] {
        guard let turn, request.headers[.authorization] != nil, let room = try? parameter(context, "room"),
              (try? await authorize(request, room: room)) != nil else { return [] }
        return turn.linkHeaderValues(for: "o-" + SessionService.newSessionID())
    }

    private func endSession(_ request: Request, _ context: some RequestContext, kind: MediaSession.Kind) async throws(Problem) -> Response {
        let room = try parameter(context, "room")
        let id = try parameter(context, "session")
        let token = try await authorize(request, room: room)
        guard let session = await service.registry.session(id: id), session.kind == kind, session.room == room else {
            throw Problem(status: 404, code: "session-not-found", title: "No such session",
                          detail: "There is no \(kind.rawValue.uppercased()) session '\(id)' in room '\(room)' (already ended?).")
        }
        guard session.identity == token.identity else { throw TokenRejection.notOwner.problem }
        await service.end(id)
        return Response(status: .ok)
    }

    /// Takes one of the token's `sessionsPerToken` places, or refuses with 429 `too-many-sessions`.
    private func reserveSession(_ request: Request, _ token: AccessToken) async throws(Problem) -> String {
        let key = Self.tokenKey(token, authorization: request.headers[.authorization] ?? "")
        guard await service.registry.reserve(token: key, limit: limits.sessionsPerToken) else {
            counters.count(.sessionsPerToken)
            logger.notice("session refused: the token holds its limit", metadata: ["identity": "\(token.identity)", "room": "\(token.room)",
                                                                                   "limit": "\(limits.sessionsPerToken)"])
            throw Problem(status: 429, code: "too-many-sessions", title: "Too many sessions",
                          detail: "This token already holds \(limits.sessionsPerToken) WHIP/WHEP sessions, the most one token may (--max-sessions-per-token). End one (DELETE its Location) first.")
        }
        return key
    }

    /// What identifies one token: its `jti`, or for older tokens without one, its signature.
    static func tokenKey(_ token: AccessToken, authorization: String) -> String {
        if let id = token.tokenID { return "jti:" + id }
        return "sig:" + (authorization.split(separator: ".").last.map(String.init) ?? token.identity)
    }

    /// In a cluster, a 307 to the node holding the room (same path and query), so the session is made there.
    private func redirect(_ request: Request, _ token: AccessToken) throws(Problem) -> Response? {
        let placement: RoomPlacement.Placement
        do { placement = try access.place(token) } catch { throw error.problem }
        guard case .elsewhere(let node) = placement else { return nil }
        let location = RoomPlacement.location(on: node, path: request.uri.path, query: request.uri.query)
        logger.info("session sent to the node holding the room", metadata: ["room": "\(token.room)", "node": "\(node)"])
        return Response(status: .temporaryRedirect, headers: [.location: location])
    }

    enum ViewerPlace {
        case here
        /// Served here, watching a copy relayed from this node (the room's holder).
        case relayed(String)
        case redirect(Response)
    }

    /// Where a WHEP viewer is served. Alone: here, while this node has fewer than `--max-viewers`. In a cluster: the
    /// node holding the room serves its viewers until it is full, then sends them on to the live node with the fewest
    /// viewers that has room, with `cascade=1`; another node sends a viewer to the holder unless the holder is full
    /// (its last heartbeat says so) or the request says `cascade=1`: then it serves the viewer through a relay.
    private func placeViewer(_ request: Request, _ token: AccessToken) async throws(Problem) -> ViewerPlace {
        let limit = limits.maxViewers
        let viewers = if let capacity { await capacity.viewers() } else { await service.registry.viewerCount() }
        let hasRoom = limit == 0 || viewers < limit
        guard let placement = access.placement, cascade != nil else {
            guard hasRoom else {
                counters.count(.viewers)
                logger.notice("viewer refused: this server serves its most viewers", metadata: ["room": "\(token.room)", "limit": "\(limit)"])
                throw Problem(status: 503, code: "server-full", title: "Too many viewers",
                              detail: "This server already serves \(limit) viewers (--max-viewers); try again later.",
                              headers: [.retryAfter: "10"])
            }
            if let redirect = try redirect(request, token) { return .redirect(redirect) }
            return .here
        }
        let placed: RoomPlacement.Placement
        do { placed = try access.place(token) } catch { throw error.problem }
        switch placed {
        case .here:
            if hasRoom { return .here }
            return try sendOn(request, token, nodes: placement.liveNodes(), excluding: [placement.node])
        case .elsewhere(let holder):
            let nodes = placement.liveNodes()
            let forced = request.uri.queryParameters["cascade"] == "1"
            let holderFull = nodes.first { $0.id == holder }?.isFull ?? false
            if !forced && !holderFull {
                logger.info("viewer sent to the node holding the room", metadata: ["room": "\(token.room)", "node": "\(holder)"])
                return .redirect(Response(status: .temporaryRedirect,
                                          headers: [.location: RoomPlacement.location(on: holder, path: request.uri.path, query: request.uri.query)]))
            }
            if hasRoom { return .relayed(holder) }
            return try sendOn(request, token, nodes: nodes, excluding: [placement.node, holder])
        }
    }

    /// A 307 (with `cascade=1`) to the live node with the fewest viewers that still has room, or 503 `cluster-full`.
    private func sendOn(_ request: Request, _ token: AccessToken, nodes: [ClusterNode], excluding: Set<String>) throws(Problem) -> ViewerPlace {
        guard let target = nodes.filter({ !excluding.contains($0.id) && !$0.isFull }).min(by: { $0.viewers < $1.viewers }) else {
            counters.count(.viewers)
            logger.notice("viewer refused: every node serves its most viewers", metadata: ["room": "\(token.room)"])
            throw Problem(status: 503, code: "cluster-full", title: "Too many viewers",
                          detail: "Every node of this cluster serves as many viewers as it may (--max-viewers); try again later.",
                          headers: [.retryAfter: "10"])
        }
        var query = request.uri.query ?? ""
        if request.uri.queryParameters["cascade"] != "1" { query += (query.isEmpty ? "" : "&") + "cascade=1" }
        logger.info("viewer sent to a node with room", metadata: ["room": "\(token.room)", "node": "\(target.id)", "viewers there": "\(target.viewers)"])
        return .redirect(Response(status: .temporaryRedirect,
                                  headers: [.location: RoomPlacement.location(on: target.id, path: request.uri.path, query: query)]))
    }

    private func authorize(_ request: Request, room: String) async throws(Problem) -> AccessToken {
        do {
            let token = try await tokens.verify(authorization: request.headers[.authorization], room: room)
            return try access.admit(token)
        } catch let refusal as RoomAccess.Refusal {
            logger.info("token not admitted", metadata: ["path": "\(request.uri.path)", "reason": "\(refusal.code)"])
            throw refusal.problem
        } catch let error as TokenRejection {
            logger.info("token refused", metadata: ["path": "\(request.uri.path)", "reason": "\(error.problem.code)"])
            throw error.problem
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(status: 500, code: "internal", title: "Internal error", detail: "\(error)")
        }
    }

    private func readOffer(_ request: Request, intent: SDPIntent) async throws(Problem) -> SDPOffer {
        let text = try await offerReader.text(of: request, notText: Problem(status: 400, code: "sdp-invalid", title: "Invalid SDP offer",
                                                                            detail: "The offer is not UTF-8 text."))
        do {
            return try SDPOffer(parsing: text, intent: intent)
        } catch {
            throw Problem(status: 400, code: "sdp-invalid", title: "Invalid SDP offer", detail: error.description)
        }
    }

    private func parameter(_ context: some RequestContext, _ name: String) throws(Problem) -> String {
        guard let raw = context.parameters.get(name), let value = raw.removingPercentEncoding, !value.isEmpty, value.utf8.count <= 128 else {
            throw Problem(status: 400, code: "bad-path", title: "Bad path", detail: "The '\(name)' path segment is missing or longer than 128 bytes.")
        }
        return value
    }
}

extension SessionService.Created {
    /// `201 Created` with the answer; with `turn`, one `Link: <url>; rel="ice-server"` per relay carrying credentials
    /// made for this session's id (RFC 9725 section 4.4), so a client behind a firewall can relay through it.
    func response(turn: TURNConfiguration?) -> Response {
        var headers: HTTPFields = [
            .contentType: "application/sdp",
            .location: session.location,
            .accessControlExposeHeaders: "Location, Link",
        ]
        for value in turn?.linkHeaderValues(for: session.id) ?? [] {
            headers.append(HTTPField(name: .link, value: value))
        }
        return Response(status: .created, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
    }
}

extension HTTPField.Name {
    /// RFC 8288 web linking.
    fileprivate static let link = HTTPField.Name("Link")!
}
