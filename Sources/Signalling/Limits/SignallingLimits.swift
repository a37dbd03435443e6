/// What one logged-in user can hold at once: every participant has a valid token, so any one may be careless or
/// hostile, and none of these may grow without bound. Each refusal is counted in `sabha_limit_refusals_total`.
public struct SignallingLimits: Sendable, Equatable {
    /// WHIP and WHEP sessions one token may hold open (`--max-sessions-per-token`); the next is refused with 429.
    public var sessionsPerToken = 16
    /// WHEP viewers this node serves at most (`--max-viewers`; 0: no limit). Alone, the next is refused with 503; in a
    /// cluster it is sent to a node with room, which relays the publisher from the node holding the room.
    public var maxViewers = 0
    /// Meeting participants who publish whose media this node serves at most (`--max-publishers`; 0: no limit).
    /// Alone, the next one's media is refused; in a cluster it goes to a node with room, and its tracks are relayed
    /// to the node holding the meeting.
    public var maxPublishers = 0
    /// Open /ws connections from one client address (`--max-websockets-per-address`). A department behind one NAT
    /// address counts as one client: raise it when more than this many people join from one office.
    public var webSocketsPerAddress = 100
    /// How long a /ws connection may stay open without joining (`--join-timeout`).
    public var joinTimeout: Duration = .seconds(10)
    /// Bytes waiting to be written to one WebSocket (`--websocket-outbox`); a reader that falls further behind is
    /// disconnected rather than buffered for without end.
    public var webSocketOutboxBytes = 1 << 20

    public init() {}
}
