import NIOConcurrencyHelpers
import NIOCore

/// Keeps the first error that passes through the pipeline (a failed TLS handshake, a reset) before the channel
/// closes. The async inbound stream may end on the close before the error reaches it, and then "closed" would hide
/// that the certificate was not trusted.
final class IMAPFailureRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let firstFailure: NIOLockedValueBox<IMAPError?>

    init(firstFailure: NIOLockedValueBox<IMAPError?>) {
        self.firstFailure = firstFailure
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure = IMAPClient.classify(error)
        firstFailure.withLockedValue { if $0 == nil { $0 = failure } }
        context.fireErrorCaught(error)
    }
}
