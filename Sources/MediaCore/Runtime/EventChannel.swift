import CMediaShims
import Glibc

/// What workers tell the control plane: media events and log lines (MediaCore has no logger of its own;
/// the engine hands lines to the configured handler off the packet thread).
enum WorkerEvent: Sendable {
    case media(MediaEvent)
    case log(String)
}

/// Events from all workers to the control plane: a lock-free ring, an eventfd, and one pump thread that
/// turns them into an AsyncStream and log calls. Workers never block on it.
final class EventChannel: Sendable {
    private let ring = MPSCRing<WorkerEvent>(capacity: 8192)
    private let signal: WakeSignal
    let stream: AsyncStream<MediaEvent>
    private let continuation: AsyncStream<MediaEvent>.Continuation
    private let logHandler: @Sendable (String) -> Void

    init(logHandler: @escaping @Sendable (String) -> Void) throws(MediaError) {
        signal = try WakeSignal()
        (stream, continuation) = AsyncStream.makeStream(of: MediaEvent.self, bufferingPolicy: .unbounded)
        self.logHandler = logHandler
    }

    /// Worker side. A full ring means the control plane is stuck; the event is logged to stderr and dropped.
    func send(_ event: WorkerEvent) {
        if ring.push(event) {
            signal.signal()
        } else {
            sabha_write_stderr("sabha: media event ring full, dropped \(event)\n")
        }
    }

    /// Pump thread body: runs until `finish()`.
    func pump(until stopped: @Sendable () -> Bool) {
        var fds = [pollfd(fd: signal.fd, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            // Sleeps until an event or `wake()`: every push and the engine's shutdown ring the eventfd, which
            // stays readable until drained, so nothing is missed between the `stopped()` check and the poll.
            _ = poll(&fds, 1, -1)
            signal.drain()
            deliverPending()
            if stopped() { break }
        }
        continuation.finish()
    }

    /// Hands what the ring holds to the stream and the log handler (the pump thread's work).
    func deliverPending() {
        drain { event in
            switch event {
            case .media(let media): continuation.yield(media)
            case .log(let line): logHandler(line)
            }
        }
    }

    /// Pops every event waiting in the ring (for a consumer other than the stream: engine tests).
    func drain(_ body: (WorkerEvent) -> Void) {
        while let event = ring.pop() { body(event) }
    }

    func wake() { signal.signal() }
}
