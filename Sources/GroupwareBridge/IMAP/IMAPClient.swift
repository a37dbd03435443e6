import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Reads new messages from one IMAP4rev1 mailbox (RFC 3501) with SwiftNIO, one whole session per call:
/// connect, STARTTLS (RFC 3501 section 6.2.1) or implicit TLS (RFC 8314), LOGIN, EXAMINE (read-only, so no
/// flag ever changes: the mailbox may be a person's too), UID FETCH of sizes, then of the bodies with
/// BODY.PEEK[], LOGOUT.
///
/// Written by hand because swift-nio-imap is not among the packages Sabha may use; it speaks only what that
/// session needs. Untagged responses the server sends in between (EXISTS, RECENT, FLAGS, CAPABILITY, FETCH of
/// flag changes) are read and ignored. Logs are at debug and never carry the password or message content.
public final class IMAPClient: Sendable {
    public let configuration: IMAPConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let tls: Result<NIOSSLContext?, IMAPError>
    /// The clear-text login warning is logged once per client, not once per poll.
    private let warnedCleartext = NIOLockedValueBox(false)

    public init(
        configuration: IMAPConfiguration, logger: Logger = Logger(label: "sabha.groupware.imap"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        var logger = logger
        logger[metadataKey: "imap.server"] = "\(configuration.host):\(configuration.port)"
        self.logger = logger
        self.tls = Self.makeTLSContext(configuration)
    }

    /// Reads the messages with a UID above `after` (from the start when `uidValidity` is nil or not the
    /// mailbox's), at most `limit` of them by UID ascending; those over `maximumSize` bytes are listed in
    /// `skipped` instead of read.
    public func fetchMessages(after uid: UInt32, uidValidity: UInt32?, maximumSize: Int = 1 << 20, limit: Int = 100)
        async throws(IMAPError) -> IMAPFetchResult
    {
        let tls = try self.tls.get()
        let timedOut = NIOLockedValueBox(false)
        let firstFailure = NIOLockedValueBox<IMAPError?>(nil)
        let channel = try await connect(tls: configuration.security == .implicitTLS ? tls : nil, firstFailure: firstFailure)
        let configuration = self.configuration
        let logger = self.logger
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var session = IMAPSession(
                    channel: channel, inbound: inbound, outbound: outbound, configuration: configuration,
                    timedOut: timedOut, firstFailure: firstFailure, logger: logger)
                session.decoder.maximumLiteralSize = max(configuration.maximumLiteralSize, maximumSize)
                try await self.open(&session, tls: tls)
                let result = try await self.fetch(
                    &session, after: uid, uidValidity: uidValidity, maximumSize: maximumSize, limit: max(1, limit))
                await session.logout()
                return result
            }
        } catch {
            let failure: IMAPError
            if let error = error as? IMAPError {
                failure = error
            } else {
                failure = timedOut.withLockedValue { $0 } ? .timeout("session") : firstFailure.withLockedValue { $0 } ?? Self.classify(error)
            }
            logger.debug("imap session failed", metadata: ["error": "\(failure)", "transient": "\(failure.isTransient)"])
            throw failure
        }
    }

    // MARK: session steps

    /// Greeting, STARTTLS when required, LOGIN unless pre-authenticated, EXAMINE is left to `fetch`.
    private func open(_ session: inout IMAPSession, tls: NIOSSLContext?) async throws(IMAPError) {
        let greeting = try await session.greeting()
        switch greeting.status {
        case "OK", "PREAUTH": break
        case "BYE": throw .connectFailed("the server refused the session: \(greeting.statusText)")
        default: throw .malformedResponse("unexpected greeting '\(greeting.status)'")
        }
        let preauthenticated = greeting.status == "PREAUTH"
        if configuration.security == .startTLS {
            guard !preauthenticated, let tls else {
                throw .tlsFailed("the server pre-authenticated the connection, so STARTTLS cannot be used")
            }
            let reply = try await session.command("STARTTLS")
            guard reply.status == "OK" else { throw .tlsFailed("the server refused STARTTLS: \(reply.statusText)") }
            guard !session.hasBufferedInput else {
                throw .malformedResponse("the server sent data after its STARTTLS reply")
            }
            try await session.startTLS(tls, serverHostname: serverHostname)
            logger.debug("imap TLS started")
        }
        guard !preauthenticated else { return }
        guard let username = configuration.username else {
            throw .invalidConfiguration("the server wants a login and no user is configured")
        }
        if configuration.security == .off, !warnedCleartext.withLockedValue({ warned in defer { warned = true }; return warned }) {
            logger.warning("imap password sent without TLS (starttls=off); said once")
        }
        let reply = try await session.command(
            "LOGIN", [.string(username), .string(configuration.password ?? "")])
        switch reply.status {
        case "OK": logger.debug("imap logged in", metadata: ["user": "\(username)"])
        case "NO": throw .authenticationFailed(reply.statusText)
        default: throw .commandFailed(command: "LOGIN", text: reply.statusText)
        }
    }

    private func fetch(
        _ session: inout IMAPSession, after: UInt32, uidValidity: UInt32?, maximumSize: Int, limit: Int
    ) async throws(IMAPError) -> IMAPFetchResult {
        var serverValidity: UInt32?
        let examined = try await session.command("EXAMINE", [.string(configuration.mailbox)]) { response throws(IMAPError) in
            if let code = response.responseCode, code.name == "UIDVALIDITY" { serverValidity = UInt32(code.argument) }
        }
        guard examined.status == "OK" else { throw .commandFailed(command: "EXAMINE", text: examined.statusText) }
        guard let serverValidity else { throw .malformedResponse("EXAMINE gave no UIDVALIDITY") }
        let start = uidValidity == serverValidity ? after : 0
        if start != after { logger.debug("imap UIDVALIDITY changed: reading from the start", metadata: ["uidvalidity": "\(serverValidity)"]) }
        guard start < UInt32.max else {
            return IMAPFetchResult(uidValidity: serverValidity, messages: [], skipped: [], highestUID: start, more: false)
        }

        // "n:*" always includes the last message even when its UID is below n (section 6.4.8): filter.
        var sizes: [UInt32: Int] = [:]
        let listed = try await session.command("UID FETCH", [.atom("\(start + 1):*"), .atom("(UID RFC822.SIZE)")]) {
            response throws(IMAPError) in
            guard let data = try IMAPFetchData(response), let uid = data.uid, uid > start, let size = data.size else { return }
            sizes[uid] = size
        }
        guard listed.status == "OK" else { throw .commandFailed(command: "UID FETCH", text: listed.statusText) }
        let uids = sizes.keys.sorted()
        let taken = uids.prefix(limit)
        let more = uids.count > taken.count

        var messages: [IMAPMessage] = []
        var skipped: [UInt32] = []
        for uid in taken {
            guard let size = sizes[uid], size <= maximumSize else {
                skipped.append(uid)
                continue
            }
            if let bytes = try await body(&session, uid: uid) { messages.append(IMAPMessage(uid: uid, bytes: bytes)) }
        }
        logger.debug("imap fetched", metadata: [
            "uidvalidity": "\(serverValidity)", "new": "\(uids.count)", "read": "\(messages.count)",
            "skipped": "\(skipped.count)", "more": "\(more)",
        ])
        return IMAPFetchResult(
            uidValidity: serverValidity, messages: messages, skipped: skipped, highestUID: taken.last ?? start, more: more)
    }

    /// BODY.PEEK[] of one message: PEEK leaves \Seen alone (section 6.4.5). nil when it vanished meanwhile.
    private func body(_ session: inout IMAPSession, uid: UInt32) async throws(IMAPError) -> [UInt8]? {
        var body: [UInt8]?
        let reply = try await session.command("UID FETCH", [.atom("\(uid)"), .atom("(UID BODY.PEEK[])")]) {
            response throws(IMAPError) in
            guard let data = try IMAPFetchData(response), data.uid == uid, let bytes = data.body else { return }
            body = bytes
        }
        guard reply.status == "OK" else { throw .commandFailed(command: "UID FETCH", text: reply.statusText) }
        return body
    }

    // MARK: connection

    private func connect(tls: NIOSSLContext?, firstFailure: NIOLockedValueBox<IMAPError?>) async throws(IMAPError) -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let serverHostname = self.serverHostname
        let bootstrap = ClientBootstrap(group: group).connectTimeout(TimeAmount(configuration.connectTimeout))
        do {
            let channel = try await bootstrap.connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(IMAPFailureRecorder(firstFailure: firstFailure))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
            logger.debug("imap connected", metadata: ["security": "\(configuration.security.rawValue)"])
            return channel
        } catch ChannelError.connectTimeout {
            throw .timeout("connect")
        } catch {
            throw .connectFailed(String(describing: error))
        }
    }

    /// SNI and certificate name; nil for an IP address, which NIOSSL then checks against the IP SANs.
    private var serverHostname: String? {
        (try? SocketAddress(ipAddress: configuration.host, port: 0)) == nil ? configuration.host : nil
    }

    private static func makeTLSContext(_ configuration: IMAPConfiguration) -> Result<NIOSSLContext?, IMAPError> {
        guard configuration.security != .off else { return .success(nil) }
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let path = configuration.trustedCAFile {
            guard FileManager.default.isReadableFile(atPath: path) else {
                return .failure(.invalidConfiguration("CA file '\(path)' is not readable"))
            }
            tlsConfiguration.trustRoots = .file(path)
        }
        if !configuration.verifyHostname { tlsConfiguration.certificateVerification = .noHostnameVerification }
        do {
            return .success(try NIOSSLContext(configuration: tlsConfiguration))
        } catch {
            return .failure(.invalidConfiguration("TLS setup failed: \(error)"))
        }
    }

    static func classify(_ error: any Error) -> IMAPError {
        if let error = error as? IMAPError { return error }
        if let error = error as? NIOSSLError {
            if case .uncleanShutdown = error { return .closed }
            return .tlsFailed(String(describing: error))
        }
        if error is NIOSSLExtraError || error is BoringSSLError { return .tlsFailed(String(describing: error)) }
        if let error = error as? ChannelError, error == .ioOnClosedChannel || error == .eof || error == .alreadyClosed {
            return .closed
        }
        return .connectFailed(String(describing: error))
    }
}
