import Glibc

/// The loss-based half of GCC (draft-ietf-rmcat-gcc-02 section 6; libwebrtc's classic
/// SendSideBandwidthEstimation): a cap on the delay-based estimate that only bites under loss.
/// Above 10 % loss the cap drops to rate × (1 − 0.5 × loss), at most once per 300 ms + RTT;
/// below 2 % it climbs 8 %/s; in between it holds. Loss is measured over windows of at least 100
/// packets (or 1 s with 10) so that 5 % random loss on a good link is not mistaken for 10 %.
struct LossBasedEstimator {
    static let lowLoss = 0.02
    static let highLoss = 0.10
    static let minPacketsPerWindow = 100
    static let minPacketsPerSlowWindow = 10
    static let slowWindowMicroseconds: Int64 = 1_000_000

    let maxBitrate: Double
    /// The cap in bits/s; starts at the maximum (no loss seen, nothing to cap).
    private(set) var cap: Double
    private(set) var lastLossFraction: Double?
    private var expected = 0
    private var lost = 0
    private var windowStart: Int64?
    private var lastDecrease: Int64?
    private var lastUpdate: Int64?
    var rttMicroseconds: Int64 = 200_000

    init(maxBitrate: Int) {
        self.maxBitrate = Double(maxBitrate)
        cap = Double(maxBitrate)
    }

    /// Counts packets a transport-wide feedback reported; evaluates once the window is full.
    mutating func add(received: Int, lost newLost: Int, currentEstimate: Double, nowMicroseconds now: Int64) {
        let start = windowStart ?? now
        windowStart = start
        expected += received + newLost
        lost += newLost
        let full = expected >= Self.minPacketsPerWindow
            || (expected >= Self.minPacketsPerSlowWindow && now - start >= Self.slowWindowMicroseconds)
        guard full else { return }
        let fraction = Double(lost) / Double(expected)
        expected = 0
        lost = 0
        windowStart = now
        update(lossFraction: fraction, currentEstimate: currentEstimate, nowMicroseconds: now)
    }

    /// Applies a loss fraction (from a window of feedback, or an RTCP receiver report's
    /// fraction lost) to the cap.
    mutating func update(lossFraction: Double, currentEstimate: Double, nowMicroseconds now: Int64) {
        let fraction = min(max(lossFraction, 0), 1)
        lastLossFraction = fraction
        let elapsed = Double(min(max(now - (lastUpdate ?? now), 0), 1_000_000)) / 1_000_000
        lastUpdate = now
        if fraction < Self.lowLoss {
            cap = min(cap * pow(1.08, elapsed) + 1_000 * elapsed, maxBitrate)
        } else if fraction > Self.highLoss {
            if let lastDecrease, now - lastDecrease < 300_000 + rttMicroseconds { return }
            lastDecrease = now
            cap = min(cap, currentEstimate) * (1 - 0.5 * fraction)
        }
    }

    /// After a probe proved a rate works: the cap may not stand in its way.
    mutating func raise(to bitrate: Double) {
        cap = min(max(cap, bitrate), maxBitrate)
    }
}
