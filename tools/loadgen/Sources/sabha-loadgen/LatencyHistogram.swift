/// A log-linear histogram of nanosecond values (32 buckets per power of two: about 3% resolution) with a
/// fixed size, so every subscriber can keep one without growing memory with the run's length.
struct LatencyHistogram {
    static let subBuckets = 32
    static let bucketCount = 64 + 40 * 32

    private(set) var counts: [UInt32]
    private(set) var total: UInt64 = 0
    private(set) var maxValue: Int64 = 0

    init() { counts = [UInt32](repeating: 0, count: Self.bucketCount) }

    @inline(__always)
    static func bucket(_ value: Int64) -> Int {
        let v = UInt64(max(value, 0))
        if v < 64 { return Int(v) }
        let exponent = 63 - v.leadingZeroBitCount  // >= 6
        let mantissa = Int((v >> UInt64(exponent - 5)) & 31)
        return min(64 + (exponent - 6) * 32 + mantissa, bucketCount - 1)
    }

    /// The middle of a bucket's range.
    static func value(ofBucket index: Int) -> Int64 {
        if index < 64 { return Int64(index) }
        let exponent = (index - 64) / 32 + 6
        let mantissa = Int64((index - 64) % 32)
        let low = (32 + mantissa) << Int64(exponent - 5)
        return low + (Int64(1) << Int64(exponent - 5)) / 2
    }

    @inline(__always)
    mutating func record(_ value: Int64) {
        counts[Self.bucket(value)] &+= 1
        total &+= 1
        if value > maxValue { maxValue = value }
    }

    mutating func merge(_ other: LatencyHistogram) {
        guard other.total > 0 else { return }
        for index in 0..<Self.bucketCount where other.counts[index] != 0 { counts[index] &+= other.counts[index] }
        total &+= other.total
        maxValue = max(maxValue, other.maxValue)
    }

    mutating func reset() {
        guard total > 0 else { return }
        for index in counts.indices { counts[index] = 0 }
        total = 0
        maxValue = 0
    }

    /// The value below which `fraction` of the samples lie; nil without samples.
    func percentile(_ fraction: Double) -> Int64? {
        guard total > 0 else { return nil }
        let rank = UInt64((Double(total) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for index in 0..<Self.bucketCount {
            seen += UInt64(counts[index])
            if seen >= max(rank, 1) { return min(Self.value(ofBucket: index), maxValue) }
        }
        return maxValue
    }
}

/// Extended RTP sequence numbers of one received SSRC (RFC 3550 appendix A.1, without probation):
/// expected = highest - first + 1, lost = expected - received.
struct SequenceTracker {
    private(set) var started = false
    private(set) var firstExtended: Int64 = 0
    private(set) var highestExtended: Int64 = 0
    private(set) var received: Int64 = 0

    @inline(__always)
    mutating func note(_ sequence: UInt16) {
        received += 1
        guard started else {
            started = true
            firstExtended = Int64(sequence)
            highestExtended = firstExtended
            return
        }
        let highest = UInt16(truncatingIfNeeded: highestExtended)
        let delta = Int16(bitPattern: sequence &- highest)
        if delta > 0 { highestExtended += Int64(delta) }
    }

    var expected: Int64 { started ? highestExtended - firstExtended + 1 : 0 }
    var lost: Int64 { max(expected - received, 0) }
}
