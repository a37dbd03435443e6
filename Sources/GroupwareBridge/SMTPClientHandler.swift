import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// The channel handler under `SMTPClient`: it writes one command at a time and matches replies
/// to waiting requests in order, each with its own timeout.
///
/// A request with no payload waits for a reply without sending anything (the 220 greeting). A
/// reply that nobody waits for is kept for the next request; a second one is a protocol error.
/// Any failure (bad reply, timeout, TLS error, closed connection) fails every waiting request,
/// is remembered for later ones and closes the channel.
final class SMTPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Request
    typealias OutboundOut = ByteBuffer

    struct Request: Sendable {
        var payload: ByteBuffer?
        var stage: SMTPStage
        var timeout: TimeAmount
        var reply: EventLoopPromise<SMTPReply>
    }

    private struct Waiter {
        var stage: SMTPStage
        var reply: EventLoopPromise<SMTPReply>
        var timer: Scheduled<Void>?
    }

    private var input = ByteBuffer()
    private var waiting = CircularBuffer<Waiter>()
    private var unclaimed: [SMTPReply] = []
    /// The first failure, shared with `SMTPClient.Session`: a request written after the channel
    /// closed never reaches this handler, and should report why it closed, not "closed channel".
    let firstFailure: NIOLockedValueBox<SMTPError?>
    private var failure: SMTPError? {
        get { firstFailure.withLockedValue { $0 } }
        set { firstFailure.withLockedValue { if $0 == nil { $0 = newValue } } }
    }

    init(firstFailure: NIOLockedValueBox<SMTPError?> = NIOLockedValueBox(nil)) {
        self.firstFailure = firstFailure
    }

    /// Bytes or replies received but not yet handed out. Must be false when TLS starts: anything
    /// the server sent after its 220 to STARTTLS arrived in clear and could be injected.
    var hasBufferedInput: Bool { input.readableBytes > 0 || !unclaimed.isEmpty }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.reply.fail(failure)
            promise?.fail(failure)
            return
        }
        if !unclaimed.isEmpty, waiting.isEmpty {
            request.reply.succeed(unclaimed.removeFirst())
        } else {
            let stage = request.stage
            let timer = context.eventLoop.assumeIsolated().scheduleTask(in: request.timeout) { [self] in
                self.fail(.timeout(stage), context: context)
            }
            waiting.append(Waiter(stage: stage, reply: request.reply, timer: timer))
        }
        if let payload = request.payload {
            context.writeAndFlush(wrapOutboundOut(payload), promise: promise)
        } else {
            promise?.succeed()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard failure == nil else { return }
        input.writeBuffer(&bytes)
        do {
            while let reply = try SMTPReply.parse(&input) {
                if let waiter = waiting.popFirst() {
                    waiter.timer?.cancel()
                    waiter.reply.succeed(reply)
                } else {
                    unclaimed.append(reply)
                    guard unclaimed.count <= 1 else { throw SMTPError.protocolError("unsolicited replies") }
                }
            }
            input.discardReadBytes()
        } catch {
            fail(Self.classify(error), context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(Self.classify(error), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.connectionFailed("connection closed by the server"))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(.connectionFailed("connection closed"))
    }

    private func fail(_ error: SMTPError, context: ChannelHandlerContext) {
        guard failure == nil else { return }
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: SMTPError) {
        if failure == nil { failure = error }
        while let waiter = waiting.popFirst() {
            waiter.timer?.cancel()
            waiter.reply.fail(failure ?? error)
        }
    }

    static func classify(_ error: any Error) -> SMTPError {
        if let error = error as? SMTPError { return error }
        if let error = error as? NIOSSLError {
            if case .uncleanShutdown = error { return .connectionFailed("connection closed without TLS close_notify") }
            return .tlsFailed(String(describing: error))
        }
        if error is NIOSSLExtraError || error is BoringSSLError { return .tlsFailed(String(describing: error)) }
        return .connectionFailed(String(describing: error))
    }
}
