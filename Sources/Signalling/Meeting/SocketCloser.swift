import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// Closes one WebSocket once: a close frame with `code`, and the connection dropped `grace` later whatever the peer
/// does (a close frame waits behind what a slow reader has not read; a hostile peer may never answer it).
final class SocketCloser: Sendable {
    private struct Closing {
        var frame: Task<Void, Never>
        var drop: Task<Void, Never>
    }

    private let outbound: WebSocketOutboundWriter
    private let channel: (any Channel)?
    private let grace: Duration
    private let closing = Mutex<Closing?>(nil)

    init(outbound: WebSocketOutboundWriter, channel: (any Channel)?, grace: Duration) {
        self.outbound = outbound
        self.channel = channel
        self.grace = grace
    }

    func close(code: WebSocketErrorCode, reason: String?) {
        closing.withLock { closing in
            guard closing == nil else { return }
            let (outbound, channel, grace) = (outbound, channel, grace)
            closing = Closing(
                frame: Task { try? await outbound.close(code, reason: reason) },
                drop: Task {
                    try? await Task.sleep(for: grace)
                    guard !Task.isCancelled else { return }
                    channel?.close(promise: nil)
                })
        }
    }

    /// Called when the socket's reader is done (the peer answered, or the connection is gone): waits for our close
    /// frame to be handed over, so the library's own close cannot overtake it, and calls off the drop.
    func finished() async {
        guard let current = closing.withLock({ $0 }) else { return }
        await current.frame.value
        current.drop.cancel()
    }
}
