import Synchronization

/// How often each limit refused something, for `/metrics` (`sabha_limit_refusals_total{limit=...}`).
public final class LimitCounters: Sendable {
    /// The limits, as the metric labels name them.
    public enum Limit: String, Sendable, CaseIterable {
        case sessionsPerToken = "sessions-per-token"
        case webSocketsPerAddress = "websockets-per-address"
        case joinTimeout = "join-timeout"
        case webSocketOutbox = "websocket-outbox"
        /// Meetings refused (API) or bookings skipped for too many attendees.
        case attendees
        /// Meetings refused (API), or booking attendees left out, for a mail domain outside SABHA_INVITE_DOMAINS.
        case inviteDomains = "invite-domains"
        /// WHIP/WHEP offers over 64 KiB (413).
        case offerSize = "offer-size"
        /// WHEP viewers refused because this node (or, in a cluster, every node) serves `--max-viewers`.
        case viewers = "max-viewers"
    }

    private let counts = Mutex<[Limit: UInt64]>([:])

    public init() {}

    public func count(_ limit: Limit, _ times: Int = 1) {
        counts.withLock { $0[limit, default: 0] += UInt64(max(0, times)) }
    }

    /// Every limit with its count (0 when never reached), in a stable order.
    public func snapshot() -> [(limit: Limit, count: UInt64)] {
        let current = counts.withLock { $0 }
        return Limit.allCases.map { ($0, current[$0] ?? 0) }
    }
}
