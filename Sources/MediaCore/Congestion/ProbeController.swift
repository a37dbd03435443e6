/// Decides when to probe for more bandwidth and measures the result. When a viewer is on a low
/// layer, media alone never shows the estimator that the path has recovered (increases are capped
/// at 1.5 × what is acknowledged), so the sender pads up to a target for a short cluster and the
/// receive rate of that cluster, if no overuse showed, becomes the new estimate (libwebrtc's
/// ProbeController and ProbeBitrateEstimator, simplified to one cluster at a time).
struct ProbeController {
    /// The caller asks for padding once per slot of this length.
    static let slotMicroseconds: Int64 = 50_000
    static let clusterMicroseconds: Int64 = 750_000
    /// Feedback for the end of a cluster arrives within this long.
    static let resultGraceMicroseconds: Int64 = 300_000
    static let baseIntervalMicroseconds: Int64 = 3_000_000
    /// Failed probes back off up to this: a viewer whose link recovers must not wait a minute for its picture.
    static let maxIntervalMicroseconds: Int64 = 6_000_000
    /// A probe that reached this share of its target was limited by the target, not the path:
    /// probe again soon, higher.
    static let continueRatio = 0.8
    static let continueDelayMicroseconds: Int64 = 500_000
    /// No probe within this long of an overuse: the path was congested, let it settle.
    static let quietAfterOveruseMicroseconds: Int64 = 2_000_000

    enum Phase { case idle, probing, awaitingResult }

    private(set) var phase = Phase.idle
    private(set) var target = 0.0
    private var clusterStart: Int64 = 0
    private var clusterEnd: Int64 = 0
    private var nextProbeAt: Int64 = 0
    private var interval = baseIntervalMicroseconds
    private var overuseDuringCluster = false
    private var lastOveruse: Int64?

    // Probe packets acknowledged so far: send and receive spans (ProbeBitrateEstimator).
    private var bytes = 0
    private var firstSize = 0
    private var lastSize = 0
    private var firstSend: Int64 = .max
    private var lastSend: Int64 = .min
    private var firstArrival: Int64 = .max
    private var lastArrival: Int64 = .min

    /// Padding bytes for the next slot.
    mutating func padding(nowMicroseconds now: Int64, estimate: Double, maxBitrate: Double, sendingBitrate: Double, wantedBitrate: Double) -> Int {
        if phase == .idle {
            let quiet = lastOveruse.map { now - $0 >= Self.quietAfterOveruseMicroseconds } ?? true
            guard now >= nextProbeAt, quiet, wantedBitrate > estimate * 1.1, estimate < maxBitrate else { return 0 }
            start(nowMicroseconds: now, target: min(wantedBitrate, 2 * estimate, maxBitrate))
        }
        guard phase == .probing else { return 0 }
        if now >= clusterEnd {
            phase = .awaitingResult
            return 0
        }
        let missing = target - max(sendingBitrate, 0)
        guard missing > 0, missing.isFinite else { return 0 }
        return Int(missing * Double(Self.slotMicroseconds) / 8_000_000)
    }

    /// Notes an overuse signal: fails a running cluster and delays the next.
    mutating func onOveruse(nowMicroseconds now: Int64) {
        lastOveruse = now
        guard phase != .idle else { return }
        overuseDuringCluster = true
        // Stop padding at once: the queue is building, and the viewer's media is in it too.
        if phase == .probing {
            phase = .awaitingResult
            clusterEnd = min(clusterEnd, now)
        }
    }

    /// Notes one acknowledged packet; only those sent during the cluster count.
    mutating func onAcknowledged(sentMicroseconds sent: Int64, arrivalMicroseconds arrival: Int64, size: Int) {
        guard phase != .idle, sent >= clusterStart, sent <= clusterEnd else { return }
        if sent < firstSend { firstSend = sent }
        if sent >= lastSend { lastSend = sent; lastSize = size }
        if arrival < firstArrival { firstArrival = arrival; firstSize = size }
        if arrival > lastArrival { lastArrival = arrival }
        bytes += size
    }

    /// Once the cluster's feedback is in: the proven rate when the probe succeeded (nil
    /// otherwise, or while the cluster is still running). Schedules the next probe either way.
    mutating func result(nowMicroseconds now: Int64, estimate: Double) -> Double? {
        guard phase == .awaitingResult, now >= clusterEnd + Self.resultGraceMicroseconds else { return nil }
        phase = .idle
        var rate: Double?
        // Spans only once a packet was acknowledged: the empty sentinels would overflow.
        if bytes > 0, lastSend > firstSend, lastArrival > firstArrival {
            let sendSpan = lastSend - firstSend
            let receiveSpan = lastArrival - firstArrival
            let sendRate = Double(bytes - lastSize) * 8_000_000 / Double(sendSpan)
            let receiveRate = Double(bytes - firstSize) * 8_000_000 / Double(receiveSpan)
            rate = min(sendRate, receiveRate)
        }
        guard let rate, !overuseDuringCluster, rate > estimate * 1.05 else {
            interval = min(interval * 2, Self.maxIntervalMicroseconds)
            nextProbeAt = now + interval
            return nil
        }
        interval = Self.baseIntervalMicroseconds
        nextProbeAt = now + (rate >= Self.continueRatio * target ? Self.continueDelayMicroseconds : interval)
        return rate
    }

    private mutating func start(nowMicroseconds now: Int64, target: Double) {
        phase = .probing
        self.target = target
        clusterStart = now
        clusterEnd = now + Self.clusterMicroseconds
        overuseDuringCluster = false
        bytes = 0
        firstSize = 0
        lastSize = 0
        firstSend = .max
        lastSend = .min
        firstArrival = .max
        lastArrival = .min
    }
}
