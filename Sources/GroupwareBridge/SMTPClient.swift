import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Delivers one message per call over SMTP (RFC 5321) with SwiftNIO: a fresh connection each time,
/// EHLO (HELO when EHLO is not understood), STARTTLS (RFC 3207) or implicit TLS (RFC 8314),
/// AUTH PLAIN (RFC 4616) or LOGIN, MAIL FROM, one RCPT TO per recipient, DATA with dot-stuffing,
/// QUIT.
///
/// Recipients the server refuses are reported in the result and do not stop the others; the
/// send fails only when every recipient is refused. Errors say whether a retry can help
/// (`SMTPError.isTransient`). Logs carry stages and reply codes, never passwords or content.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let tls: NIOSSLContext?

    public init(
        configuration: SMTPConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "sabha.groupware.smtp")
    ) throws(SMTPError) {
        self.configuration = configuration
        self.group = eventLoopGroup
        var logger = logger
        logger[metadataKey: "smtp.server"] = "\(configuration.host):\(configuration.port)"
        self.logger = logger
        if configuration.security == .off {
            tls = nil
        } else {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if let path = configuration.trustedCAFile {
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw .invalidConfiguration("CA file '\(path)' is not readable")
                }
                tlsConfiguration.trustRoots = .file(path)
            }
            if !configuration.verifyHostname { tlsConfiguration.certificateVerification = .noHostnameVerification }
            do {
                tls = try NIOSSLContext(configuration: tlsConfiguration)
            } catch {
                throw .invalidConfiguration("TLS setup failed: \(error)")
            }
        }
    }

    /// Sends `message` (complete RFC 5322 bytes, CRLF line ends, e.g. `IMIPMessage.bytes`) from the
    /// envelope sender `from` (empty for the null reverse-path) to `to`.
    @discardableResult
    public func send(from: String, to: [String], message: [UInt8]) async throws(SMTPError) -> SMTPDeliveryReport {
        try Self.checkAddress(from, allowEmpty: true)
        guard !to.isEmpty else { throw .invalidArgument("no recipients") }
        for address in to { try Self.checkAddress(address, allowEmpty: false) }

        let firstFailure = NIOLockedValueBox<SMTPError?>(nil)
        let channel = try await connect(firstFailure: firstFailure)
        let session = Session(channel: channel, configuration: configuration, logger: logger, firstFailure: firstFailure)
        do throws(SMTPError) {
            let report = try await deliver(session: session, from: from, to: to, message: message)
            await session.quit()
            return report
        } catch {
            logger.info("smtp send failed", metadata: ["error": "\(error)", "transient": "\(error.isTransient)"])
            await session.close()
            throw error
        }
    }

    /// Connects, says hello, starts TLS and logs in as `send` would, then quits without sending: what `sabha doctor`
    /// uses to tell an operator whether the server is reachable and takes the credentials.
    public func verify() async throws(SMTPError) {
        let firstFailure = NIOLockedValueBox<SMTPError?>(nil)
        let channel = try await connect(firstFailure: firstFailure)
        let session = Session(channel: channel, configuration: configuration, logger: logger, firstFailure: firstFailure)
        do throws(SMTPError) {
            try await open(session)
            await session.quit()
        } catch {
            await session.close()
            throw error
        }
    }

    // MARK: session

    /// Greeting, EHLO, STARTTLS and AUTH: the session up to the first MAIL FROM.
    private func open(_ session: Session) async throws(SMTPError) {
        let greeting = try await session.receive(.greeting)
        guard greeting.code == 220 else { throw .reply(code: greeting.code, text: greeting.text, stage: .greeting) }

        var extensions = try await session.hello()
        if configuration.security == .startTLS {
            guard extensions["STARTTLS"] != nil else { throw .tlsFailed("the server does not offer STARTTLS") }
            try await session.expect("STARTTLS", stage: .starttls, codes: [220])
            try await session.startTLS(tls!, serverHostname: serverHostname)
            extensions = try await session.hello()
        }

        if let username = configuration.username {
            if configuration.security == .off {
                logger.warning("smtp credentials sent without TLS (starttls=off)")
            }
            try await session.authenticate(
                username: username, password: configuration.password ?? "", offered: extensions["AUTH"] ?? [])
        }
    }

    private func deliver(session: Session, from: String, to: [String], message: [UInt8]) async throws(SMTPError)
        -> SMTPDeliveryReport
    {
        try await open(session)
        try await session.expect("MAIL FROM:<\(from)>", stage: .mailFrom, codes: [250])
        var accepted: [String] = []
        var refused: [SMTPRecipientRefusal] = []
        for address in to {
            let reply = try await session.command("RCPT TO:<\(address)>", stage: .rcptTo)
            switch reply.code {
            case 250, 251:
                accepted.append(address)
            case 421:  // the server is closing the session: nothing more will work
                throw .reply(code: reply.code, text: reply.text, stage: .rcptTo)
            default:
                logger.info("smtp recipient refused", metadata: ["rcpt": "\(address)", "code": "\(reply.code)"])
                refused.append(SMTPRecipientRefusal(address: address, code: reply.code, text: reply.text))
            }
        }
        guard !accepted.isEmpty else { throw .allRecipientsRefused(refused) }

        try await session.expect("DATA", stage: .data, codes: [354])
        let content = SMTPDataEncoder.encode(message)
        let final = try await session.send(content, stage: .message)
        guard final.code == 250 else { throw .reply(code: final.code, text: final.text, stage: .message) }
        logger.debug("smtp message accepted", metadata: ["accepted": "\(accepted.count)", "refused": "\(refused.count)"])
        return SMTPDeliveryReport(accepted: accepted, refused: refused)
    }

    /// SNI and certificate name; nil for an IP address, which NIOSSL then checks against the IP SANs.
    private var serverHostname: String? {
        (try? SocketAddress(ipAddress: configuration.host, port: 0)) == nil ? configuration.host : nil
    }

    private func connect(firstFailure: NIOLockedValueBox<SMTPError?>) async throws(SMTPError) -> any Channel {
        let implicitTLS = configuration.security == .implicitTLS ? tls : nil
        let serverHostname = self.serverHostname
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: implicitTLS, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(SMTPClientHandler(firstFailure: firstFailure))
                }
            }
        do {
            let channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
            logger.debug("smtp connected")
            return channel
        } catch ChannelError.connectTimeout {
            throw .timeout(.connect)
        } catch {
            throw .connectionFailed(String(describing: error))
        }
    }

    /// Envelope addresses go into a command line verbatim, so they must not be able to end it.
    private static func checkAddress(_ address: String, allowEmpty: Bool) throws(SMTPError) {
        guard allowEmpty || !address.isEmpty else { throw .invalidArgument("empty recipient address") }
        guard address.utf8.count <= 254,
              address.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") })
        else {
            throw .invalidArgument("address '\(address.prefix(64).filter { !$0.isNewline })' is not a plain ASCII mailbox")
        }
    }

    // MARK: one connection

    struct Session: Sendable {
        let channel: any Channel
        let configuration: SMTPConfiguration
        let logger: Logger
        let firstFailure: NIOLockedValueBox<SMTPError?>

        var timeout: TimeAmount { TimeAmount(configuration.commandTimeout) }

        func receive(_ stage: SMTPStage) async throws(SMTPError) -> SMTPReply {
            try await request(payload: nil, stage: stage)
        }

        func send(_ payload: ByteBuffer, stage: SMTPStage) async throws(SMTPError) -> SMTPReply {
            try await request(payload: payload, stage: stage)
        }

        /// `logged` replaces the command in logs (AUTH lines carry credentials).
        func command(_ line: String, stage: SMTPStage, logged: String? = nil) async throws(SMTPError) -> SMTPReply {
            logger.trace("smtp >", metadata: ["command": "\(logged ?? line)"])
            var buffer = channel.allocator.buffer(capacity: line.utf8.count + 2)
            buffer.writeString(line)
            buffer.writeString("\r\n")
            let reply = try await request(payload: buffer, stage: stage)
            logger.trace("smtp <", metadata: ["code": "\(reply.code)", "stage": "\(stage)"])
            return reply
        }

        @discardableResult
        func expect(_ line: String, stage: SMTPStage, codes: Set<Int>, logged: String? = nil) async throws(SMTPError)
            -> SMTPReply
        {
            let reply = try await command(line, stage: stage, logged: logged)
            guard codes.contains(reply.code) else { throw .reply(code: reply.code, text: reply.text, stage: stage) }
            return reply
        }

        private func request(payload: ByteBuffer?, stage: SMTPStage) async throws(SMTPError) -> SMTPReply {
            let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
            let request = SMTPClientHandler.Request(payload: payload, stage: stage, timeout: timeout, reply: promise)
            let firstFailure = self.firstFailure
            channel.writeAndFlush(request).whenFailure { error in
                promise.fail(firstFailure.withLockedValue { $0 } ?? SMTPClientHandler.classify(error))
            }
            do {
                return try await promise.futureResult.get()
            } catch {
                throw firstFailure.withLockedValue { $0 } ?? SMTPClientHandler.classify(error)
            }
        }

        /// EHLO, or HELO when the server does not know EHLO (RFC 5321 section 3.2). Returns the
        /// extensions by upper-cased keyword with their parameters.
        func hello() async throws(SMTPError) -> [String: [String]] {
            let reply = try await command("EHLO \(configuration.heloName)", stage: .ehlo)
            if reply.code == 250 {
                var extensions: [String: [String]] = [:]
                for line in reply.lines.dropFirst() {
                    let words = line.split(separator: " ").map { String($0) }
                    guard let keyword = words.first?.uppercased() else { continue }
                    extensions[keyword] = words.dropFirst().map { $0.uppercased() }
                }
                return extensions
            }
            guard (500..<600).contains(reply.code) else { throw .reply(code: reply.code, text: reply.text, stage: .ehlo) }
            try await expect("HELO \(configuration.heloName)", stage: .helo, codes: [250])
            return [:]
        }

        func startTLS(_ context: NIOSSLContext, serverHostname: String?) async throws(SMTPError) {
            let channel = self.channel
            do {
                try await channel.eventLoop.submit {
                    let pipeline = channel.pipeline.syncOperations
                    let handler = try pipeline.handler(type: SMTPClientHandler.self)
                    guard !handler.hasBufferedInput else {
                        throw SMTPError.protocolError("the server sent data after its STARTTLS reply")
                    }
                    try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname), position: .first)
                }.get()
            } catch {
                throw SMTPClientHandler.classify(error)
            }
            logger.debug("smtp TLS started")
        }

        func authenticate(username: String, password: String, offered: [String]) async throws(SMTPError) {
            func rejected(_ reply: SMTPReply) -> SMTPError {
                (500..<600).contains(reply.code)
                    ? .authRejected(code: reply.code, text: reply.text) : .reply(code: reply.code, text: reply.text, stage: .auth)
            }
            if offered.contains("PLAIN") {
                let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
                let reply = try await command("AUTH PLAIN \(token)", stage: .auth, logged: "AUTH PLAIN ***")
                guard reply.code == 235 else { throw rejected(reply) }
            } else if offered.contains("LOGIN") {
                var reply = try await command("AUTH LOGIN", stage: .auth)
                guard reply.code == 334 else { throw rejected(reply) }
                reply = try await command(Data(username.utf8).base64EncodedString(), stage: .auth, logged: "***")
                guard reply.code == 334 else { throw rejected(reply) }
                reply = try await command(Data(password.utf8).base64EncodedString(), stage: .auth, logged: "***")
                guard reply.code == 235 else { throw rejected(reply) }
            } else {
                throw .authUnavailable(
                    offered.isEmpty ? "the server offers no AUTH" : "the server offers only \(offered.joined(separator: " "))")
            }
            logger.debug("smtp authenticated")
        }

        /// QUIT, then close; the message is already accepted, so failures here are only logged.
        func quit() async {
            do {
                _ = try await command("QUIT", stage: .quit)
            } catch {
                logger.debug("smtp QUIT failed", metadata: ["error": "\(error)"])
            }
            await close()
        }

        func close() async {
            try? await channel.close()
        }
    }
}
