/// How often a worker does its periodic work, and how much it does per turn of its loop so that sockets,
/// commands and timers keep their turn.
enum WorkerTiming {
    /// Consent checks, DTLS retransmissions, our NACKs and transport-wide feedback to publishers.
    static let tickMs: Int64 = 50
    /// Layers re-chosen from the estimates; rates and active speakers updated.
    static let layerUpdateIntervalMs: Int64 = 200
    /// Receiver reports to publishers, sender reports to viewers, keyframe requests for waiting viewers.
    static let reportIntervalMs: Int64 = 1000
    /// While probe padding is paced, the loop wakes this often.
    static let probePacingMs: Int64 = 5
    /// Receive batches read per turn.
    static let receiveBatchesPerTurn = 32
    /// Packets taken from one pipe per turn.
    static let pipedPerTurn = 256
    /// Round-trip time assumed for NACK retries until we measure it.
    static let assumedRTTMs: Int64 = 50
}
