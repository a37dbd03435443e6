import Synchronization

/// The messages waiting to go out on one meeting WebSocket, bounded in bytes. The hub only ever appends (it never
/// waits for a participant); when a reader falls so far behind that the queue would pass `limit`, the outbox stops
/// taking messages and ends (`ending` says why), and its socket is closed with a close code saying so.
final class SocketOutbox: Sendable {
    enum Ending: Sendable, Equatable {
        /// The reader fell more than `limit` bytes behind.
        case overflow
        /// Nobody joined within the join timeout.
        case joinTimeout
    }

    private struct State {
        var queued = 0
        var finished = false
        var ending: Ending?
        var joined = false
    }

    let stream: AsyncStream<String>
    let limit: Int
    private let continuation: AsyncStream<String>.Continuation
    private let state = Mutex(State())
    /// Called once, outside the lock, when the outbox overflows.
    private let overflowed: @Sendable () -> Void

    init(limit: Int, onOverflow: @escaping @Sendable () -> Void = {}) {
        self.limit = limit
        self.overflowed = onOverflow
        (stream, continuation) = AsyncStream.makeStream(of: String.self)
    }

    /// Queues a message; past `limit` bytes the outbox ends instead (the message is not queued).
    func send(_ text: String) {
        let size = text.utf8.count
        let overflow = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            guard state.queued + size <= limit else {
                state.finished = true
                state.ending = .overflow
                return true
            }
            state.queued += size
            continuation.yield(text)
            return false
        }
        if overflow {
            continuation.finish()
            overflowed()
        }
    }

    /// The writer took `text` off the queue.
    func taken(_ text: String) {
        state.withLock { $0.queued -= text.utf8.count }
    }

    /// No more messages; what is queued still goes out. `ending` records why, when it is not an ordinary end.
    func finish(_ ending: Ending? = nil) {
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            state.ending = ending
        }
        continuation.finish()
    }

    var ending: Ending? { state.withLock { $0.ending } }

    /// The socket sent its join: the join timeout no longer applies.
    func markJoined() {
        state.withLock { $0.joined = true }
    }

    /// Unless the socket joined meanwhile (or the outbox ended), queues `message` as the last one and ends the
    /// outbox for a join timeout; true when it did.
    func endForJoinTimeout(_ message: String) -> Bool {
        let ended = state.withLock { state -> Bool in
            guard !state.joined, !state.finished else { return false }
            state.finished = true
            state.ending = .joinTimeout
            state.queued += message.utf8.count
            continuation.yield(message)
            return true
        }
        if ended { continuation.finish() }
        return ended
    }

    /// Bytes queued and not yet taken (tests, diagnostics).
    var queuedBytes: Int { state.withLock { $0.queued } }
}
