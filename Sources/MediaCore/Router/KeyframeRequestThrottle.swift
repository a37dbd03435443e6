/// Aggregates keyframe requests (PLI, RFC 4585 section 6.3.1; FIR, RFC 5104 section 4.3.1) from
/// many viewers into few requests to the publisher, one decision per simulcast layer.
///
/// When a publisher's packets are lost, every viewer of that layer asks for a keyframe at about
/// the same moment. Passing each request on makes the encoder send keyframe after keyframe — each
/// many times the size of a delta frame — which causes more loss. So per layer:
/// - the first request is forwarded at once;
/// - while it is unanswered, further requests are absorbed for `unansweredIntervalMs` (1 s): a
///   keyframe is on its way, and asking again only helps if the request itself was lost;
/// - once a keyframe has arrived, the next request is allowed `intervalMs` (500 ms) after the
///   previous one — a viewer that missed that keyframe (it joined or lost it) waits at most that.
///
/// The rule is deliberately simple (no delayed or queued requests as in mediasoup's
/// `KeyFrameRequestManager`): a refused viewer asks again on its own schedule.
///
/// Owned by one worker thread; fixed storage for `maxLayers` layers.
struct KeyframeRequestThrottle {
    static let maxLayers = 4

    let intervalMs: Int64
    let unansweredIntervalMs: Int64

    /// Per layer: time of the last forwarded request, `Int64.min` if none.
    private var lastRequestMs: (Int64, Int64, Int64, Int64) = (.min, .min, .min, .min)
    /// Per layer: a forwarded request is still waiting for its keyframe.
    private var pending: (Bool, Bool, Bool, Bool) = (false, false, false, false)

    /// Requests forwarded to the publisher.
    private(set) var forwardedCount = 0
    /// Requests absorbed by the throttle.
    private(set) var suppressedCount = 0

    init(intervalMs: Int64 = 500, unansweredIntervalMs: Int64 = 1000) {
        precondition(intervalMs >= 0 && unansweredIntervalMs >= intervalMs)
        self.intervalMs = intervalMs
        self.unansweredIntervalMs = unansweredIntervalMs
    }

    /// Whether a viewer's keyframe request for `layer` (0..<4) should go to the publisher now.
    /// A true answer counts as sent. Out-of-range layers are a caller bug: they assert in debug
    /// builds and are refused.
    mutating func shouldRequest(layer: Int, nowMs: Int64) -> Bool {
        assert(layer >= 0 && layer < Self.maxLayers, "layer out of range")
        guard layer >= 0 && layer < Self.maxLayers else { return false }
        let last = Self.get(lastRequestMs, layer)
        if last != .min {
            let wait = Self.get(pending, layer) ? unansweredIntervalMs : intervalMs
            if nowMs - last < wait {
                suppressedCount += 1
                return false
            }
        }
        Self.set(&lastRequestMs, layer, nowMs)
        Self.set(&pending, layer, true)
        forwardedCount += 1
        return true
    }

    /// A keyframe of `layer` arrived from the publisher (asked for or not).
    mutating func keyframeArrived(layer: Int, nowMs: Int64) {
        guard layer >= 0 && layer < Self.maxLayers else { return }
        Self.set(&pending, layer, false)
    }

    /// Whether a request for `layer` is still waiting for its keyframe.
    func isPending(layer: Int) -> Bool {
        guard layer >= 0 && layer < Self.maxLayers else { return false }
        return Self.get(pending, layer)
    }

    /// Forgets all layers (publisher restarted). Counters are kept.
    mutating func reset() {
        lastRequestMs = (.min, .min, .min, .min)
        pending = (false, false, false, false)
    }

    // MARK: - Fixed-size tuple access (no array, no allocation)

    @inline(__always)
    private static func get<T>(_ tuple: (T, T, T, T), _ index: Int) -> T {
        switch index {
        case 0: tuple.0
        case 1: tuple.1
        case 2: tuple.2
        default: tuple.3
        }
    }

    @inline(__always)
    private static func set<T>(_ tuple: inout (T, T, T, T), _ index: Int, _ value: T) {
        switch index {
        case 0: tuple.0 = value
        case 1: tuple.1 = value
        case 2: tuple.2 = value
        default: tuple.3 = value
        }
    }
}
