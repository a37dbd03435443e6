import CMediaShims
import Glibc

/// Milliseconds from CLOCK_MONOTONIC: timers on the worker never jump with wall-clock changes.
enum MonotonicClock {
    @inline(__always)
    static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Microseconds from CLOCK_MONOTONIC: transport-wide feedback carries arrival deltas in
    /// 250 µs units, so congestion control needs finer time than `milliseconds()`.
    @inline(__always)
    static func microseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}
