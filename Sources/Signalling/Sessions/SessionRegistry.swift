import MediaCore

/// Who publishes and who watches, per room. The single source of truth for sessions; the media
/// engine only knows transports.
public actor SessionRegistry {
    private struct PublisherKey: Hashable {
        var room: String
        var identity: String
    }

    private var sessions: [String: MediaSession] = [:]
    private var byTransport: [TransportID: String] = [:]
    private var publishers: [PublisherKey: String] = [:]
    private var viewers: [String: Set<String>] = [:]
    private var connected: [SRTPProfile: UInt64] = [:]
    /// Sessions held (or being set up) per token, for `--max-sessions-per-token`.
    private var perToken: [String: Int] = [:]

    public init() {}

    /// Registers a publisher; returns the session it replaces (same identity publishing again), if any.
    public func addPublisher(_ session: MediaSession) -> MediaSession? {
        let key = PublisherKey(room: session.room, identity: session.identity)
        var replaced: MediaSession?
        if let old = publishers[key] { replaced = sessions[old] }
        sessions[session.id] = session
        byTransport[session.transport] = session.id
        publishers[key] = session.id
        return replaced
    }

    /// Registers a viewer of a publisher session; false when that publisher is gone meanwhile.
    public func addViewer(_ session: MediaSession) -> Bool {
        guard let watching = session.watching, sessions[watching] != nil else { return false }
        sessions[session.id] = session
        byTransport[session.transport] = session.id
        viewers[watching, default: []].insert(session.id)
        return true
    }

    /// Takes one of the `limit` places a token has for sessions; false when all are taken. The place is given back
    /// by `release`, or by `remove` once a session carrying this `tokenKey` is registered.
    public func reserve(token key: String, limit: Int) -> Bool {
        guard perToken[key, default: 0] < limit else { return false }
        perToken[key, default: 0] += 1
        return true
    }

    public func release(token key: String) {
        guard let count = perToken[key] else { return }
        perToken[key] = count > 1 ? count - 1 : nil
    }

    /// Sessions the token holds now (tests, diagnostics).
    public func sessions(token key: String) -> Int { perToken[key] ?? 0 }

    public func publisher(room: String, identity: String) -> MediaSession? {
        publishers[PublisherKey(room: room, identity: identity)].flatMap { sessions[$0] }
    }

    public func session(id: String) -> MediaSession? { sessions[id] }

    /// Rooms with at least one WHIP or WHEP session of this node's own (not one relayed from another node).
    public func rooms() -> Set<String> { Set(sessions.values.filter { $0.relayedFrom == nil }.map(\.room)) }

    /// WHEP viewers this node serves: of its own rooms and relayed ones (what `--max-viewers` bounds).
    public func viewerCount() -> Int { sessions.values.reduce(0) { $0 + ($1.kind == .whep ? 1 : 0) } }

    /// Viewers of the publisher session `id`.
    public func viewerCount(of id: String) -> Int { viewers[id]?.count ?? 0 }

    /// Sessions in `room`, of `identity` and opened with `tokenID` when those are given.
    public func sessions(room: String, identity: String? = nil, tokenID: String? = nil) -> [MediaSession] {
        sessions.values.filter { session in
            session.room == room && (identity == nil || session.identity == identity) && (tokenID == nil || session.tokenID == tokenID)
        }
    }

    /// Removes a session. For a publisher, also removes and returns its viewers (to be closed).
    public func remove(id: String) -> (session: MediaSession, viewers: [MediaSession])? {
        guard let session = sessions.removeValue(forKey: id) else { return nil }
        byTransport[session.transport] = nil
        if let key = session.tokenKey { release(token: key) }
        var orphans: [MediaSession] = []
        switch session.kind {
        case .whip:
            let key = PublisherKey(room: session.room, identity: session.identity)
            if publishers[key] == id { publishers[key] = nil }
            for viewerID in viewers.removeValue(forKey: id) ?? [] {
                if let viewer = sessions.removeValue(forKey: viewerID) {
                    byTransport[viewer.transport] = nil
                    if let key = viewer.tokenKey { release(token: key) }
                    orphans.append(viewer)
                }
            }
        case .whep:
            if let watching = session.watching { viewers[watching]?.remove(id) }
        }
        return (session, orphans)
    }

    public func remove(transport: TransportID) -> (session: MediaSession, viewers: [MediaSession])? {
        guard let id = byTransport[transport] else { return nil }
        return remove(id: id)
    }

    public func session(transport: TransportID) -> MediaSession? {
        byTransport[transport].flatMap { sessions[$0] }
    }

    public func noteConnected(_ profile: SRTPProfile) {
        connected[profile, default: 0] += 1
    }

    public struct Counts: Sendable {
        public var sessions: [MediaSession.Kind: Int] = [:]
        public var connected: [SRTPProfile: UInt64] = [:]
    }

    public func counts() -> Counts {
        var counts = Counts()
        for kind in MediaSession.Kind.allCases { counts.sessions[kind] = 0 }
        for session in sessions.values where session.kind == .whep || session.relayedFrom == nil {
            counts.sessions[session.kind, default: 0] += 1
        }
        counts.connected = connected
        return counts
    }
}
