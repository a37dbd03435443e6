/// The time a worker runs on: the monotonic clock in the server, a clock the test moves in engine tests.
/// A generic parameter of `MediaWorker`, so reading it on the packet path is a direct call.
protocol WorkerClock {
    /// Milliseconds: timers, consent, keyframe throttling.
    func milliseconds() -> Int64
    /// Microseconds: send and arrival times for transport-wide feedback (250 µs units on the wire).
    func microseconds() -> Int64
}

/// CLOCK_MONOTONIC: timers never jump with wall-clock changes.
struct SystemClock: WorkerClock {
    @inline(__always)
    func milliseconds() -> Int64 { MonotonicClock.milliseconds() }

    @inline(__always)
    func microseconds() -> Int64 { MonotonicClock.microseconds() }
}
