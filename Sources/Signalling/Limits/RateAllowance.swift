/// A token bucket: `burst` actions at once, then one more each second. A participant's chat messages and hand
/// changes each have one, so nobody can make the server repeat them to a whole room as fast as they can type.
struct RateAllowance {
    let burst: Int
    private var tokens: Int
    private var refilledAt: ContinuousClock.Instant

    init(burst: Int, now: ContinuousClock.Instant = .now) {
        self.burst = burst
        tokens = burst
        refilledAt = now
    }

    /// Takes one action's token; false when none is left.
    mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
        let seconds = Int((now - refilledAt) / .seconds(1))
        if seconds > 0 {
            tokens = min(burst, tokens + seconds)
            refilledAt = refilledAt.advanced(by: .seconds(seconds))
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}
