import Glibc

/// The rate controller of GCC (draft-ietf-rmcat-gcc-02 section 5.5; libwebrtc's
/// aimd_rate_control.cc): increase multiplicatively (8 %/s) while far from the last congestion
/// point, additively (about one packet per response time) near it, and on overuse drop to
/// 0.85 × the acknowledged bitrate. Increases are capped at 1.5 × acknowledged + 10 kbit/s, so a
/// sender that is not using its estimate cannot grow it on faith; probing is what lifts it then.
struct AIMDRateControl {
    enum State { case hold, increase, decrease }

    static let beta = 0.85
    static let multiplicativeRatePerSecond = 1.08
    static let minNearMaxIncreasePerSecond = 4_000.0

    private(set) var bitrate: Double
    let minBitrate: Double
    let maxBitrate: Double
    private(set) var state = State.hold
    private var lastChangeMicroseconds: Int64?
    private var lastIncreaseMicroseconds: Int64?
    /// Round-trip time used for the additive step and the reduction interval.
    var rttMicroseconds: Int64 = 200_000

    /// Where the last decreases happened: an exponential average of the acknowledged rate at
    /// overuse, in bits/s, with its normalised variance (libwebrtc LinkCapacityEstimator).
    private var capacity: Double?
    private var capacityVariance = 0.4

    init(bitrate: Int, minBitrate: Int, maxBitrate: Int) {
        self.minBitrate = Double(minBitrate)
        self.maxBitrate = Double(maxBitrate)
        self.bitrate = min(max(Double(bitrate), Double(minBitrate)), Double(maxBitrate))
    }

    /// Sets the rate outright, after a successful probe.
    mutating func set(bitrate value: Double, nowMicroseconds: Int64) {
        bitrate = min(max(value, minBitrate), maxBitrate)
        lastChangeMicroseconds = nowMicroseconds
    }

    /// Whether a new overuse signal may cut the rate again: once per RTT (10–200 ms), or at once
    /// when the acknowledged rate is under half the current estimate.
    func timeToReduceFurther(nowMicroseconds: Int64, acknowledged: Double?) -> Bool {
        let interval = min(max(rttMicroseconds, 10_000), 200_000)
        guard let last = lastChangeMicroseconds, nowMicroseconds - last < interval else { return true }
        if let acknowledged { return acknowledged < 0.5 * bitrate }
        return false
    }

    mutating func update(_ usage: BandwidthUsage, acknowledged: Double?, nowMicroseconds now: Int64) {
        switch usage {
        case .normal: if state == .hold { state = .increase; lastIncreaseMicroseconds = now }
        case .overusing: state = .decrease
        case .underusing: state = .hold
        }
        switch state {
        case .hold:
            break
        case .increase:
            if let acknowledged, let capacity, acknowledged > upperBound(capacity) { self.capacity = nil }
            let elapsed = Double(min(max(now - (lastIncreaseMicroseconds ?? now), 0), 1_000_000)) / 1_000_000
            lastIncreaseMicroseconds = now
            var next = bitrate
            if capacity != nil {
                next += nearMaxIncreasePerSecond() * elapsed
            } else {
                next += max(bitrate * (pow(Self.multiplicativeRatePerSecond, elapsed) - 1), 1_000 * elapsed)
            }
            if let acknowledged {
                let limit = 1.5 * acknowledged + 10_000
                if next > limit { next = max(bitrate, limit) }
            }
            if next > bitrate { lastChangeMicroseconds = now }
            bitrate = min(max(next, minBitrate), maxBitrate)
        case .decrease:
            if let acknowledged {
                var next = Self.beta * acknowledged
                if next > bitrate, let capacity { next = Self.beta * capacity }
                if next < bitrate { bitrate = max(next, minBitrate) }
                if let capacity, acknowledged < lowerBound(capacity) { self.capacity = nil }
                observeOveruse(acknowledged)
            } else {
                bitrate = max(bitrate * Self.beta, minBitrate)
            }
            lastChangeMicroseconds = now
            state = .hold
        }
    }

    /// One average packet per response time (RTT + 100 ms), for 30 fps video of 1200-byte
    /// packets at the current rate.
    private func nearMaxIncreasePerSecond() -> Double {
        let bitsPerFrame = bitrate / 30
        let packetsPerFrame = max((bitsPerFrame / (1200 * 8)).rounded(.up), 1)
        let averagePacketBits = bitsPerFrame / packetsPerFrame
        let responseTime = Double(rttMicroseconds + 100_000) / 1_000_000
        return max(Self.minNearMaxIncreasePerSecond, averagePacketBits / responseTime)
    }

    private mutating func observeOveruse(_ sample: Double) {
        guard sample.isFinite, sample > 0 else { return }
        let estimate = capacity.map { 0.95 * $0 + 0.05 * sample } ?? sample
        let norm = max(estimate / 1000, 1)
        let error = (estimate - sample) / 1000
        capacityVariance = min(max(0.95 * capacityVariance + 0.05 * error * error / norm, 0.4), 2.5)
        capacity = estimate
    }

    private func deviation(_ capacity: Double) -> Double { (capacityVariance * capacity / 1000).squareRoot() * 1000 }
    private func upperBound(_ capacity: Double) -> Double { capacity + 3 * deviation(capacity) }
    private func lowerBound(_ capacity: Double) -> Double { max(0, capacity - 3 * deviation(capacity)) }
}
