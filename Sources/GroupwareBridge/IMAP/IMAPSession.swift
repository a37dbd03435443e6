import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// One connection's conversation (RFC 3501 section 2.2): tagged commands out, responses in, each command
/// bounded by the command timeout. Lives inside one task (`IMAPClient.fetchMessages`), so it is not Sendable.
///
/// The timeout closes the channel from its event loop and flags why, so a read that was waiting ends with
/// `.timeout` rather than `.closed`.
struct IMAPSession {
    /// A command argument: sent as is, or as an IMAP string (quoted, or a literal when quoting cannot carry it).
    enum Argument {
        case atom(String)
        case string(String)
    }

    let channel: any Channel
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var buffer = ByteBuffer()
    /// Its `maximumLiteralSize` is raised to the largest message the caller asked to read, when that is more.
    var decoder: IMAPResponseDecoder
    private let timeout: TimeAmount
    private let timedOut: NIOLockedValueBox<Bool>
    private let firstFailure: NIOLockedValueBox<IMAPError?>
    private var nextTag = 1
    let logger: Logger

    init(
        channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, configuration: IMAPConfiguration,
        timedOut: NIOLockedValueBox<Bool>, firstFailure: NIOLockedValueBox<IMAPError?>, logger: Logger
    ) {
        self.channel = channel.channel
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.decoder = IMAPResponseDecoder(maximumLiteralSize: configuration.maximumLiteralSize)
        self.timeout = TimeAmount(configuration.commandTimeout)
        self.timedOut = timedOut
        self.firstFailure = firstFailure
        self.logger = logger
    }

    /// The server's first response (section 7.1.1 to 7.1.5): OK, PREAUTH or BYE.
    mutating func greeting() async throws(IMAPError) -> IMAPResponse {
        let timer = armTimer()
        defer { timer.cancel() }
        while true {
            let response = try await read(stage: "greeting")
            if response.kind == .untagged { return response }
        }
    }

    /// Sends one command and reads until its tagged completion, handing every untagged response to `untagged`
    /// (EXISTS, RECENT, FLAGS, CAPABILITY may come with any command). `name` is what logs and errors show.
    mutating func command(
        _ name: String, _ arguments: [Argument] = [],
        untagged: (IMAPResponse) throws(IMAPError) -> Void = { _ throws(IMAPError) in }
    ) async throws(IMAPError) -> IMAPResponse {
        let tag = "s\(nextTag)"
        nextTag += 1
        let timer = armTimer()
        defer { timer.cancel() }
        logger.trace("imap >", metadata: ["command": "\(tag) \(name)"])
        var pending = Array("\(tag) \(name)".utf8)
        for argument in arguments {
            pending.append(UInt8(ascii: " "))
            switch argument {
            case .atom(let text):
                pending += text.utf8
            case .string(let text):
                if Self.canQuote(text) {
                    pending += Self.quoted(text)
                    continue
                }
                // A synchronizing literal (section 4.3): send up to "{n}", wait for "+", then the bytes.
                pending += Array("{\(text.utf8.count)}".utf8)
                try await write(pending + [0x0D, 0x0A], stage: name)
                let reply = try await readSkippingUntagged(stage: name, untagged: untagged)
                if case .tagged = reply.kind { return reply }
                pending = Array(text.utf8)
            }
        }
        try await write(pending + [0x0D, 0x0A], stage: name)
        while true {
            let response = try await readSkippingUntagged(stage: name, untagged: untagged)
            if case .tagged(let got) = response.kind {
                guard got == tag else { throw .malformedResponse("completion for tag \(got) while waiting for \(tag)") }
                logger.trace("imap <", metadata: ["command": "\(name)", "status": "\(response.status)"])
                return response
            }
        }
    }

    /// True when nothing the server sent is still unread: must hold when TLS starts, because bytes sent after
    /// the OK to STARTTLS arrived in clear and could have been injected.
    var hasBufferedInput: Bool { buffer.readableBytes > 0 }

    func startTLS(_ context: NIOSSLContext, serverHostname: String?) async throws(IMAPError) {
        let channel = self.channel
        do {
            try await channel.eventLoop.submit {
                let handler = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch {
            throw IMAPClient.classify(error)
        }
    }

    /// LOGOUT and its BYE; failures are only logged, the work is done by then.
    mutating func logout() async {
        do {
            _ = try await command("LOGOUT")
        } catch {
            logger.debug("imap LOGOUT failed", metadata: ["error": "\(error)"])
        }
    }

    private mutating func readSkippingUntagged(
        stage: String, untagged: (IMAPResponse) throws(IMAPError) -> Void
    ) async throws(IMAPError) -> IMAPResponse {
        while true {
            let response = try await read(stage: stage)
            guard response.kind == .untagged else { return response }
            if response.status == "BYE" {
                logger.debug("imap server said BYE", metadata: ["text": "\(response.statusText)"])
            }
            try untagged(response)
        }
    }

    private mutating func read(stage: String) async throws(IMAPError) -> IMAPResponse {
        while true {
            if let response = try decoder.decode(&buffer) {
                if buffer.readableBytes == 0 { buffer.clear() } else if buffer.readerIndex > 1 << 16 { buffer.discardReadBytes() }
                return response
            }
            let chunk: ByteBuffer?
            do {
                chunk = try await inbound.next()
            } catch {
                throw failure(error, stage: stage)
            }
            guard var chunk else {
                throw timedOut.withLockedValue { $0 } ? .timeout(stage) : firstFailure.withLockedValue { $0 } ?? .closed
            }
            buffer.writeBuffer(&chunk)
        }
    }

    private func write(_ bytes: [UInt8], stage: String) async throws(IMAPError) {
        do {
            try await outbound.write(ByteBuffer(bytes: bytes))
        } catch {
            throw failure(error, stage: stage)
        }
    }

    private func failure(_ error: any Error, stage: String) -> IMAPError {
        timedOut.withLockedValue { $0 } ? .timeout(stage) : firstFailure.withLockedValue { $0 } ?? IMAPClient.classify(error)
    }

    private func armTimer() -> Scheduled<Void> {
        let channel = self.channel
        let timedOut = self.timedOut
        return channel.eventLoop.scheduleTask(in: timeout) {
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
    }

    /// A quoted string (section 4.3) carries 7-bit text without CR, LF or NUL; `\` and `"` are escaped.
    static func canQuote(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 > 0 && $0 < 0x80 && $0 != 0x0D && $0 != 0x0A }
    }

    static func quoted(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
        return out
    }
}
