import Foundation
import GroupwareTestSupport
import NIOCore
import NIOPosix
import Testing
@testable import GroupwareBridge

/// IMAPClient against a real Dovecot (Debian dovecot-imapd) and, for a server that misbehaves, a scripted one.
/// Each test uses a mailbox of its own, so they share the suite's server without seeing each other's mail.
@Suite(
    .enabled(if: DovecotServer.hasDovecot, "needs Dovecot (apt-get install dovecot-imapd; tools/setup.sh does)"),
    .dovecot, .timeLimit(.minutes(1))
)
struct IMAPClientTests {
    var server: DovecotServer { DovecotServer.current! }

    static func mail(_ n: Int, padding: Int = 0) -> [UInt8] {
        Array("From: Sunil <sunil@example.in>\r\nTo: asha@example.in\r\nSubject: reply \(n)\r\n\r\nbody \(n)\r\n".utf8)
            + Array(repeating: UInt8(ascii: "x"), count: padding) + [0x0D, 0x0A]
    }

    static func mailbox() -> String { "test-\(UUID().uuidString.prefix(8))" }

    func client(_ security: IMAPConfiguration.Security = .off, mailbox: String, password: String = DovecotServer.password)
        -> IMAPClient
    {
        IMAPClient(configuration: server.configuration(security: security, password: password, mailbox: mailbox))
    }

    @Test func plainLoginReadsEveryMessageInOrder() async throws {
        let box = Self.mailbox()
        let messages = (1...3).map { Self.mail($0) }
        let uids = try server.append(messages, to: box)
        let result = try await client(mailbox: box).fetchMessages(after: 0, uidValidity: nil)
        #expect(result.messages.map(\.uid) == uids)
        #expect(result.messages.map(\.bytes) == messages)
        #expect(result.highestUID == uids.last)
        #expect(result.skipped.isEmpty)
        #expect(!result.more)
    }

    @Test func startTLSWithThePrivateCA() async throws {
        let box = Self.mailbox()
        try server.append([Self.mail(1)], to: box)
        let result = try await client(.startTLS, mailbox: box).fetchMessages(after: 0, uidValidity: nil)
        #expect(result.messages.map(\.bytes) == [Self.mail(1)])
    }

    @Test func implicitTLSWithThePrivateCA() async throws {
        let box = Self.mailbox()
        try server.append([Self.mail(1)], to: box)
        let result = try await client(.implicitTLS, mailbox: box).fetchMessages(after: 0, uidValidity: nil)
        #expect(result.messages.map(\.bytes) == [Self.mail(1)])
    }

    /// Without the test CA the certificate is not trusted: TLS fails, and no password was sent.
    @Test func untrustedCertificateFailsBeforeLogin() async throws {
        var configuration = server.configuration(security: .startTLS)
        configuration.trustedCAFile = nil
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPClient(configuration: configuration).fetchMessages(after: 0, uidValidity: nil)
        }
        guard case .tlsFailed = error else { Issue.record("expected tlsFailed, got \(String(describing: error))"); return }
        #expect(error?.isTransient == false)
    }

    @Test func wrongPasswordIsAPermanentAuthenticationFailure() async throws {
        let error = await #expect(throws: IMAPError.self) {
            _ = try await client(mailbox: "INBOX", password: "wrong").fetchMessages(after: 0, uidValidity: nil)
        }
        guard case .authenticationFailed = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.isTransient == false)
    }

    @Test func missingMailboxIsACommandFailure() async throws {
        let error = await #expect(throws: IMAPError.self) {
            _ = try await client(mailbox: "no-such-box").fetchMessages(after: 0, uidValidity: nil)
        }
        guard case .commandFailed(let command, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(command == "EXAMINE")
    }

    /// "n:*" returns the last message even when its UID is below n (RFC 3501 section 6.4.8): it must not come back.
    @Test func afterSkipsWhatWasReadIncludingTheLastMessageQuirk() async throws {
        let box = Self.mailbox()
        let uids = try server.append((1...3).map { Self.mail($0) }, to: box)
        let client = client(mailbox: box)
        let first = try await client.fetchMessages(after: 0, uidValidity: nil)
        let rest = try await client.fetchMessages(after: uids[0], uidValidity: first.uidValidity)
        #expect(rest.messages.map(\.uid) == Array(uids[1...]))
        let none = try await client.fetchMessages(after: uids[2], uidValidity: first.uidValidity)
        #expect(none.messages.isEmpty)
        #expect(none.highestUID == uids[2])
        #expect(!none.more)
    }

    @Test func uidValidityChangeStartsAgainFromTheBeginning() async throws {
        let box = Self.mailbox()
        try server.append((1...2).map { Self.mail($0) }, to: box)
        let client = client(mailbox: box)
        let before = try await client.fetchMessages(after: 0, uidValidity: nil)
        try server.recreate(box)
        let uids = try server.append([Self.mail(9)], to: box)
        let after = try await client.fetchMessages(after: before.highestUID, uidValidity: before.uidValidity)
        #expect(after.uidValidity != before.uidValidity)
        #expect(after.messages.map(\.uid) == uids)
        #expect(after.messages.map(\.bytes) == [Self.mail(9)])
    }

    @Test func limitCutsTheListAndTheNextCallGoesOn() async throws {
        let box = Self.mailbox()
        let uids = try server.append((1...3).map { Self.mail($0) }, to: box)
        let client = client(mailbox: box)
        let first = try await client.fetchMessages(after: 0, uidValidity: nil, limit: 2)
        #expect(first.messages.map(\.uid) == Array(uids[..<2]))
        #expect(first.more)
        #expect(first.highestUID == uids[1])
        let second = try await client.fetchMessages(after: first.highestUID, uidValidity: first.uidValidity, limit: 2)
        #expect(second.messages.map(\.uid) == [uids[2]])
        #expect(!second.more)
    }

    @Test func messagesOverTheMaximumSizeAreSkippedNotRead() async throws {
        let box = Self.mailbox()
        let uids = try server.append([Self.mail(1), Self.mail(2, padding: 5000), Self.mail(3)], to: box)
        let result = try await client(mailbox: box).fetchMessages(after: 0, uidValidity: nil, maximumSize: 2000)
        #expect(result.messages.map(\.uid) == [uids[0], uids[2]])
        #expect(result.skipped == [uids[1]])
        #expect(result.highestUID == uids[2])
    }

    /// 8-bit bytes and text that looks like IMAP syntax ("{5}", ")", a tag, a quote, a backslash) come back unchanged.
    /// (Not a lone CR: Dovecot turns it into CRLF when it stores the message.)
    @Test func eightBitBodyArrivesByteForByte() async throws {
        let box = Self.mailbox()
        var message = Array("From: a@example.in\r\nSubject: bytes\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".utf8)
        message += (0x80...0xFF).map { UInt8($0) } + Array("\r\n{5}\r\n) s2 OK \"\\ x\r\n".utf8)
        let uids = try server.append([message], to: box)
        let result = try await client(mailbox: box).fetchMessages(after: 0, uidValidity: nil)
        #expect(result.messages == [IMAPMessage(uid: uids[0], bytes: message)])
    }

    @Test func readingLeavesMessagesUnseen() async throws {
        let box = Self.mailbox()
        let uids = try server.append([Self.mail(1)], to: box)
        _ = try await client(mailbox: box).fetchMessages(after: 0, uidValidity: nil)
        let flags = try server.flags(uid: uids[0], mailbox: box)
        #expect(flags.contains("FLAGS"))
        #expect(!flags.contains("\\Seen"))
    }

    // MARK: misbehaving servers

    /// A server that greets, then answers the first command with half a FETCH and hangs up.
    @Test func serverClosingMidResponseIsAnErrorNotAHang() async throws {
        let fake = try await ScriptedServer.start(answer: "* 1 FETCH (UID 1 BODY[] {100}\r\nonly part", close: true)
        defer { fake.close() }
        let configuration = IMAPConfiguration(
            host: "127.0.0.1", port: fake.port, username: "u", password: "p", security: .off, commandTimeout: .seconds(20))
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPClient(configuration: configuration).fetchMessages(after: 0, uidValidity: nil)
        }
        #expect(error == .closed)
        #expect(error?.isTransient == true)
    }

    /// A huge literal is refused at its "{n}", at once, not after buffering or waiting for its bytes.
    @Test func hugeLiteralEndsTheSessionAtItsHeader() async throws {
        let fake = try await ScriptedServer.start(answer: "* 1 FETCH (UID 1 BODY[] {999999999}\r\n", close: false)
        defer { fake.close() }
        let configuration = IMAPConfiguration(
            host: "127.0.0.1", port: fake.port, username: "u", password: "p", security: .off, commandTimeout: .seconds(20))
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPClient(configuration: configuration).fetchMessages(after: 0, uidValidity: nil)
        }
        #expect(error == .literalTooLarge(999_999_999))
    }

    @Test func silentServerTimesOut() async throws {
        let fake = try await ScriptedServer.start(answer: nil, close: false)
        defer { fake.close() }
        let configuration = IMAPConfiguration(
            host: "127.0.0.1", port: fake.port, username: "u", password: "p", security: .off, commandTimeout: .seconds(1))
        let error = await #expect(throws: IMAPError.self) {
            _ = try await IMAPClient(configuration: configuration).fetchMessages(after: 0, uidValidity: nil)
        }
        #expect(error == .timeout("LOGIN"))
    }

    /// Greets with "* OK", then answers the first line it receives with `answer` (or nothing).
    final class ScriptedServer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: String?
        let closeAfter: Bool

        init(answer: String?, close: Bool) {
            self.answer = answer
            self.closeAfter = close
        }

        struct Running {
            let channel: any Channel
            var port: Int { channel.localAddress!.port! }
            func close() { channel.close(promise: nil) }
        }

        static func start(answer: String?, close: Bool) async throws -> Running {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ScriptedServer(answer: answer, close: close))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            return Running(channel: channel)
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "* OK scripted\r\n")), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let answer else { return }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
            if closeAfter { context.close(promise: nil) }
        }
    }
}
