/// The rate at which the receiver actually got our packets, from feedback arrival times over a
/// sliding 500 ms window. GCC decreases to a fraction of this, not of what we sent, so the cut
/// lands under the real bottleneck. Fixed ring allocated at init.
struct AcknowledgedBitrateEstimator {
    static let windowMicroseconds: Int64 = 500_000
    /// Below this span the rate is too noisy to use (libwebrtc waits 150 ms for its first).
    static let minSpanMicroseconds: Int64 = 150_000

    private var arrivals: [Int64]
    private var sizes: [Int]
    private var head = 0
    private var count = 0
    private var bytes = 0
    private var newest: Int64 = .min

    init(capacity: Int = 4096) {
        arrivals = [Int64](repeating: 0, count: capacity)
        sizes = [Int](repeating: 0, count: capacity)
    }

    mutating func add(arrivalMicroseconds arrival: Int64, size: Int) {
        newest = max(newest, arrival)
        if count == arrivals.count { dropOldest() }
        let index = (head + count) % arrivals.count
        arrivals[index] = arrival
        sizes[index] = size
        bytes += size
        count += 1
        while count > 1, arrivals[head] < newest - Self.windowMicroseconds { dropOldest() }
    }

    /// Bits per second over the window, nil until it spans 150 ms.
    var bitrate: Double? {
        guard count > 1 else { return nil }
        let span = newest - arrivals[head]
        guard span >= Self.minSpanMicroseconds else { return nil }
        return Double(bytes - sizes[head]) * 8 * 1_000_000 / Double(span)
    }

    private mutating func dropOldest() {
        bytes -= sizes[head]
        head = (head + 1) % arrivals.count
        count -= 1
    }
}
