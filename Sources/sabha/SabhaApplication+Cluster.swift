import ArgumentParser
import Foundation
import Logging
import Signalling

/// `sabha serve` as one node of a cluster: several nodes on one PostgreSQL database (`--database`).
extension SabhaApplication {
    /// The token key and the admin key. On a cluster store both are the cluster's, kept in the database (the first
    /// node makes them) and copied into this node's data directory for `sabha token` and `sabha room` there; a
    /// token from any node opens a meeting on any other. `--admin-key` still wins.
    static func credentials(_ settings: ServeSettings, store: any RoomStore, logger: Logger) async throws -> (TokenAuthority, AdminKey) {
        guard let cluster = store as? any ClusterStore else {
            do {
                return (try await TokenAuthority.load(dataDirectory: settings.dataDirectory),
                        try AdminKey.load(option: settings.adminKey, dataDirectory: settings.dataDirectory))
            } catch {
                throw ValidationError("cannot use data directory '\(settings.dataDirectory)': \(error)")
            }
        }
        do {
            let tokenKey = try cluster.sharedSecret("token-hs256") { (0..<32).map { _ in UInt8.random(in: .min ... .max) } }
            try replace(file: (settings.dataDirectory as NSString).appendingPathComponent(TokenAuthority.keyFileName), with: tokenKey)
            let tokens = await TokenAuthority(key: tokenKey)
            if let option = settings.adminKey { return (tokens, AdminKey(option)) }
            let adminText = try cluster.sharedSecret("admin-key") {
                Array((0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max)) }.joined().utf8)
            }
            let path = AdminKey.path(dataDirectory: settings.dataDirectory)
            try replace(file: path, with: adminText + [UInt8(ascii: "\n")])
            logger.info("token and admin keys are the cluster's (from the database)")
            return (tokens, AdminKey(String(decoding: adminText, as: UTF8.self), origin: .file(path: path)))
        } catch {
            throw ValidationError("cannot take the cluster's keys from the database: \(error)")
        }
    }

    /// Writes `bytes` to `path` (mode 0600) unless it already holds them, through a temporary file and rename.
    private static func replace(file path: String, with bytes: [UInt8]) throws {
        if FileManager.default.contents(atPath: path).map({ [UInt8]($0) }) == bytes { return }
        let temporary = path + ".new"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o600]),
              rename(temporary, path) == 0 else {
            throw ValidationError("cannot write \(path)")
        }
    }

    /// Signed requests between this node and the others (relays, meeting actions), with the cluster's secret (made by
    /// the first node, kept in the database); nil alone.
    /// The relays to other nodes (nil alone), and this node's viewers and publishers and their limits: where a
    /// meeting participant's media goes when it is full, told to the hub (which places participants' media), the
    /// relays (which serve other nodes' participants) and, through the capacity returned, the WHEP routes and the
    /// heartbeat.
    static func mediaPlacement(_ limits: SignallingLimits, placement: RoomPlacement?, sessions: SessionService, hub: MeetingHub,
                               cluster: ClusterClient?) async -> (NodeCapacity, CascadeRelays?) {
        let cascade = cluster.map { CascadeRelays(service: sessions, cluster: $0, logger: Logger(label: "sabha.cascade")) }
        let capacity = NodeCapacity(
            maxViewers: limits.maxViewers, maxPublishers: limits.maxPublishers, placement: placement,
            viewers: { await sessions.registry.viewerCount() + (await hub.localViewerMedia()) + (await cascade?.hostedCount(.viewer) ?? 0) },
            publishers: { await hub.localPublisherMedia() + (await cascade?.hostedCount(.publisher) ?? 0) })
        let remote = cluster.map { RemoteMeetingMedia(cluster: $0, logger: Logger(label: "sabha.cascade")) }
        await hub.setMediaPlacement(capacity, remote: remote, relays: cascade)
        await cascade?.setMeetingMedia(capacity: capacity) { room, participant, track in
            await hub.producer(room: room, participant: participant, track: track)
        }
        return (capacity, cascade)
    }

    static func clusterClient(_ placement: RoomPlacement?, store: any RoomStore) throws -> ClusterClient? {
        guard let placement, let cluster = store as? any ClusterStore else { return nil }
        do {
            let secret = try cluster.sharedSecret("cluster-relay") { (0..<32).map { _ in UInt8.random(in: .min ... .max) } }
            return ClusterClient(node: placement.node, secret: secret)
        } catch {
            throw ValidationError("cannot take the cluster's request secret from the database: \(error)")
        }
    }

    /// Which node runs each room, when the store is shared; this node is known by its public URL.
    static func placement(_ settings: ServeSettings, store: any RoomStore) -> RoomPlacement? {
        guard let cluster = store as? any ClusterStore else { return nil }
        let logger = Logger(label: "sabha.cluster")
        if settings.explicitPublicURL == nil {
            logger.warning("no --public-url: this node is known to the cluster as \(settings.http.publicURL); give each node its own URL that browsers reach, or joins sent to it will fail")
        }
        return RoomPlacement(node: settings.http.publicURL, store: cluster, logger: logger)
    }
}
