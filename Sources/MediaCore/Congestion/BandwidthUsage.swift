/// What the delay-based detector concludes about the path (draft-ietf-rmcat-gcc-02 section 5.4).
enum BandwidthUsage {
    case normal
    /// Queues are draining: hold the rate so they can empty.
    case underusing
    /// Queues are growing: the sending rate exceeds the path's capacity.
    case overusing
}
