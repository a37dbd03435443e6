/// Delay-gradient detector of GCC as libwebrtc builds it (goog_cc/trendline_estimator.cc): a
/// least-squares slope over the last 20 smoothed accumulated delays, compared with an adaptive
/// threshold (draft-ietf-rmcat-gcc-02 section 5.4–5.5). The slope, not the delay itself, is what
/// reacts before queues overflow; the adaptive threshold keeps it from starving against
/// loss-based TCP flows. Fixed-size window, no allocation after init.
struct TrendlineEstimator {
    // libwebrtc defaults.
    static let windowSize = 20
    static let smoothingCoefficient = 0.9
    static let thresholdGain = 4.0
    static let minNumberOfDeltas = 60.0
    static let overusingTimeThresholdMs = 10.0
    static let maxAdaptOffsetMs = 15.0
    static let kUp = 0.0087
    static let kDown = 0.039

    private var arrivalMs = [Double](repeating: 0, count: windowSize)
    private var delayMs = [Double](repeating: 0, count: windowSize)
    private var head = 0
    private var count = 0

    private var firstArrivalMs: Double?
    private var accumulatedDelayMs = 0.0
    private var smoothedDelayMs = 0.0
    private var numberOfDeltas = 0
    private var trend = 0.0
    private var previousTrend = 0.0

    private(set) var threshold = 12.5
    private var lastThresholdUpdateMs: Double?
    private var timeOverUsingMs = -1.0
    private var overuseCounter = 0
    private(set) var state = BandwidthUsage.normal

    /// Feeds the deltas between two packet groups; `arrivalMs` is the later group's arrival.
    mutating func update(receiveDeltaMs: Double, sendDeltaMs: Double, arrivalMs now: Double) -> BandwidthUsage {
        numberOfDeltas = min(numberOfDeltas + 1, 1000)
        accumulatedDelayMs += receiveDeltaMs - sendDeltaMs
        smoothedDelayMs = Self.smoothingCoefficient * smoothedDelayMs + (1 - Self.smoothingCoefficient) * accumulatedDelayMs
        let first = firstArrivalMs ?? now
        firstArrivalMs = first

        arrivalMs[head] = now - first
        delayMs[head] = smoothedDelayMs
        head = (head + 1) % Self.windowSize
        count = min(count + 1, Self.windowSize)
        if count == Self.windowSize, let slope = linearFitSlope() { trend = slope }
        detect(sendDeltaMs: sendDeltaMs, nowMs: now)
        return state
    }

    private func linearFitSlope() -> Double? {
        var sumX = 0.0, sumY = 0.0
        for i in 0..<count { sumX += arrivalMs[i]; sumY += delayMs[i] }
        let meanX = sumX / Double(count), meanY = sumY / Double(count)
        var numerator = 0.0, denominator = 0.0
        for i in 0..<count {
            let dx = arrivalMs[i] - meanX
            numerator += dx * (delayMs[i] - meanY)
            denominator += dx * dx
        }
        guard denominator != 0, numerator.isFinite, denominator.isFinite else { return nil }
        return numerator / denominator
    }

    private mutating func detect(sendDeltaMs: Double, nowMs: Double) {
        guard numberOfDeltas >= 2 else {
            state = .normal
            return
        }
        let modified = min(Double(numberOfDeltas), Self.minNumberOfDeltas) * trend * Self.thresholdGain
        if modified > threshold {
            if timeOverUsingMs == -1 { timeOverUsingMs = sendDeltaMs / 2 } else { timeOverUsingMs += sendDeltaMs }
            overuseCounter += 1
            if timeOverUsingMs > Self.overusingTimeThresholdMs && overuseCounter > 1 && trend >= previousTrend {
                timeOverUsingMs = 0
                overuseCounter = 0
                state = .overusing
            }
        } else if modified < -threshold {
            timeOverUsingMs = -1
            overuseCounter = 0
            state = .underusing
        } else {
            timeOverUsingMs = -1
            overuseCounter = 0
            state = .normal
        }
        previousTrend = trend
        updateThreshold(modified: modified, nowMs: nowMs)
    }

    private mutating func updateThreshold(modified: Double, nowMs: Double) {
        let last = lastThresholdUpdateMs ?? nowMs
        lastThresholdUpdateMs = nowMs
        guard modified.isFinite, abs(modified) <= threshold + Self.maxAdaptOffsetMs else { return }
        let k = abs(modified) < threshold ? Self.kDown : Self.kUp
        let elapsed = min(max(nowMs - last, 0), 100)
        threshold += k * (abs(modified) - threshold) * elapsed
        threshold = min(max(threshold, 6), 600)
    }
}
