import Synchronization

/// Whether the server is going away (SIGTERM): from then on `/readyz` answers 503, joins and new WHIP/WHEP sessions
/// are refused with a retry time, and the meetings already running go on until they end or the drain time is up.
/// One per server, shared by the routes, the meeting socket and `SignallingServer.run`, which starts it.
public final class ServerDrain: Sendable {
    private let state = Mutex<ContinuousClock.Instant?>(nil)
    /// How long a client should wait before it tries again, beyond the drain's end: a restart's start-up.
    public static let restartAllowance: Duration = .seconds(5)

    public init() {}

    /// Starts draining, to end by `deadline`; a second call keeps the first deadline.
    public func begin(until deadline: ContinuousClock.Instant) {
        state.withLock { if $0 == nil { $0 = deadline } }
    }

    public var isDraining: Bool { state.withLock { $0 != nil } }

    /// Whole seconds a client should wait before it reconnects (the drain's rest plus a restart), or nil when serving.
    public var retryAfter: Int? {
        guard let deadline = state.withLock({ $0 }) else { return nil }
        let rest = max(.zero, deadline - .now) + Self.restartAllowance
        return Int(rest.components.seconds) + (rest.components.attoseconds > 0 ? 1 : 0)
    }
}
