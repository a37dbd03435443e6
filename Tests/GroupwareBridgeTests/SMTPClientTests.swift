import Foundation
import Testing
@testable import GroupwareBridge
import GroupwareTestSupport
import SabhaTestSupport
import NIOConcurrencyHelpers

/// SMTPClient against a real aiosmtpd (from `<repo>/.venv`) and against misbehaving TCP servers.
@Suite(
    .enabled(if: SMTPTestEnvironment.hasAiosmtpd, "needs aiosmtpd in <repo>/.venv: run tools/setup.sh"),
    .timeLimit(.minutes(1))
)
struct SMTPClientTests {
    static let user = "sabha-mailer"
    static let password = "pä ss:w0rd@%"

    static func plain(_ port: Int, commandTimeout: Duration = .seconds(10)) -> SMTPConfiguration {
        SMTPConfiguration(host: "127.0.0.1", port: port, security: .off, connectTimeout: .seconds(5), commandTimeout: commandTimeout)
    }

    static func invitationMessage() throws -> (IMIPMessage, [String]) {
        let invitation = try Sample.invitation()
        var generator = SplitMix64(seed: 7)
        let message = try IMIPMessage(
            invitation: invitation, recipient: invitation.attendees[1], date: Sample.start, using: &generator)
        return (message, invitation.attendees.prefix(2).map { $0.email.value })
    }

    // MARK: delivery

    @Test func deliversAnInvitationToTwoRecipients() async throws {
        let server = try await SMTPTestServer(directory: try SMTPTestEnvironment.temporaryDirectory())
        defer { server.stop() }
        let (message, recipients) = try Self.invitationMessage()
        let client = try SMTPClient(configuration: Self.plain(server.port))
        let report = try await client.send(from: "asha@example.in", to: recipients, message: message.bytes)
        #expect(report.accepted == recipients)
        #expect(report.refused.isEmpty)
        let files = try server.deliveries()
        #expect(files.count == 2)
        for rcpt in recipients {
            #expect(files["1-\(rcpt).eml"] == message.bytes)
        }
    }

    /// Lines that start with "." (and a lone ".") arrive unchanged after the server's un-stuffing.
    @Test func dotLinesSurvive() async throws {
        let server = try await SMTPTestServer(directory: try SMTPTestEnvironment.temporaryDirectory())
        defer { server.stop() }
        let (imip, _) = try Self.invitationMessage()
        let message = imip.bytes + Array("\r\n.\r\n..\r\n.leading dot\r\n...three\r\nlast .\r\n".utf8)
        let client = try SMTPClient(configuration: Self.plain(server.port))
        try await client.send(from: "", to: ["sunil@example.in"], message: message)
        #expect(try server.deliveries()["1-sunil@example.in.eml"] == message)
    }

    /// The aiosmtpd command line with its Maildir handler: one mailbox entry listing both recipients.
    @Test func aiosmtpdMailboxReceivesTheInvitation() async throws {
        let directory = try SMTPTestEnvironment.temporaryDirectory()
        let server = try await SMTPTestServer(mailbox: directory)
        defer { server.stop() }
        let (message, recipients) = try Self.invitationMessage()
        let client = try SMTPClient(configuration: Self.plain(server.port))
        try await client.send(from: "asha@example.in", to: recipients, message: message.bytes)
        let new = directory.appendingPathComponent("Maildir/new")
        let names = try FileManager.default.contentsOfDirectory(atPath: new.path)
        #expect(names.count == 1)
        let stored = try String(contentsOf: new.appendingPathComponent(try #require(names.first)), encoding: .utf8)
        #expect(stored.contains("Message-ID: \(message.messageID)"))
        #expect(stored.contains("X-RcptTo: \(recipients.joined(separator: ", "))"))
        #expect(stored.contains("X-MailFrom: asha@example.in"))
    }

    @Test func refusedRecipientIsReportedAndOthersGetTheMail() async throws {
        let server = try await SMTPTestServer(
            directory: try SMTPTestEnvironment.temporaryDirectory(), arguments: ["--refuse", "gone@example.in"])
        defer { server.stop() }
        let client = try SMTPClient(configuration: Self.plain(server.port))
        let message = Array("Subject: t\r\n\r\nhello\r\n".utf8)
        let report = try await client.send(
            from: "asha@example.in", to: ["a@example.in", "gone@example.in", "b@example.in"], message: message)
        #expect(report.accepted == ["a@example.in", "b@example.in"])
        #expect(report.refused.map(\.address) == ["gone@example.in"])
        #expect(report.refused.first?.code == 550)
        #expect(report.refused.first?.isTransient == false)
        #expect(Set(try server.deliveries().keys) == ["1-a@example.in.eml", "1-b@example.in.eml"])
    }

    @Test func everyRecipientRefusedIsAPermanentError() async throws {
        let server = try await SMTPTestServer(
            directory: try SMTPTestEnvironment.temporaryDirectory(), arguments: ["--refuse", "gone@example.in"])
        defer { server.stop() }
        let client = try SMTPClient(configuration: Self.plain(server.port))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "asha@example.in", to: ["gone@example.in"], message: Array("x\r\n".utf8))
        }
        guard case .allRecipientsRefused(let refusals) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(refusals == [SMTPRecipientRefusal(address: "gone@example.in", code: 550, text: "5.1.1 No such user here")])
        #expect(error?.isTransient == false)
        #expect(try server.deliveries().isEmpty)
    }

    @Test func addressesThatCouldInjectCommandsAreRejected() async throws {
        let client = try SMTPClient(configuration: Self.plain(1))
        for (from, to) in [("a@b.in\r\nRSET", ["c@d.in"]), ("a@b.in", ["c@d.in>\r\nDATA"]), ("a@b.in", []), ("a@b.in", [""])] {
            let error = await #expect(throws: SMTPError.self) { try await client.send(from: from, to: to, message: []) }
            guard case .invalidArgument = error else { Issue.record("got \(String(describing: error))"); continue }
        }
    }

    // MARK: STARTTLS and AUTH

    func tlsServer(_ extra: [String] = []) async throws -> (SMTPTestServer, SMTPTestEnvironment.Certificates) {
        let directory = try SMTPTestEnvironment.temporaryDirectory()
        let certificates = try SMTPTestEnvironment.makeCertificates(in: directory)
        let server = try await SMTPTestServer(directory: directory, arguments: [
            "--tls-cert", certificates.certFile, "--tls-key", certificates.keyFile,
            "--user", Self.user, "--password", Self.password,
        ] + extra)
        return (server, certificates)
    }

    func tlsClient(_ port: Int, ca: String?, host: String = "127.0.0.1", password: String = password) throws -> SMTPClient {
        try SMTPClient(configuration: SMTPConfiguration(
            host: host, port: port, username: Self.user, password: password, security: .startTLS,
            connectTimeout: .seconds(5), commandTimeout: .seconds(10), trustedCAFile: ca))
    }

    @Test(.enabled(if: SMTPTestEnvironment.hasOpenSSL, "needs /usr/bin/openssl"), arguments: ["127.0.0.1", "localhost"])
    func startTLSThenAuthPlain(host: String) async throws {
        let (server, certificates) = try await tlsServer()
        defer { server.stop() }
        let (message, recipients) = try Self.invitationMessage()
        let client = try tlsClient(server.port, ca: certificates.caFile, host: host)
        let report = try await client.send(from: "asha@example.in", to: recipients, message: message.bytes)
        #expect(report.accepted == recipients)
        #expect(try server.deliveries()["1-\(recipients[0]).eml"] == message.bytes)
    }

    @Test(.enabled(if: SMTPTestEnvironment.hasOpenSSL, "needs /usr/bin/openssl"))
    func authLoginWhenOnlyLoginIsOffered() async throws {
        let (server, certificates) = try await tlsServer(["--only-login"])
        defer { server.stop() }
        let client = try tlsClient(server.port, ca: certificates.caFile)
        try await client.send(from: "asha@example.in", to: ["a@example.in"], message: Array("Subject: x\r\n\r\n.\r\n".utf8))
        #expect(try server.deliveries()["1-a@example.in.eml"] == Array("Subject: x\r\n\r\n.\r\n".utf8))
    }

    @Test(.enabled(if: SMTPTestEnvironment.hasOpenSSL, "needs /usr/bin/openssl"), arguments: [false, true])
    func wrongPasswordIsRejectedPermanently(onlyLogin: Bool) async throws {
        let (server, certificates) = try await tlsServer(onlyLogin ? ["--only-login"] : [])
        defer { server.stop() }
        let client = try tlsClient(server.port, ca: certificates.caFile, password: "wrong")
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "asha@example.in", to: ["a@example.in"], message: Array("x\r\n".utf8))
        }
        guard case .authRejected(let code, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(code == 535)
        #expect(error?.isTransient == false)
        #expect(!String(describing: error!).contains("wrong"))
        #expect(try server.deliveries().isEmpty)
    }

    /// The system trust store does not know the test CA.
    @Test(.enabled(if: SMTPTestEnvironment.hasOpenSSL, "needs /usr/bin/openssl"))
    func untrustedCertificateFailsTLS() async throws {
        let (server, _) = try await tlsServer()
        defer { server.stop() }
        let client = try tlsClient(server.port, ca: nil)
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "asha@example.in", to: ["a@example.in"], message: Array("x\r\n".utf8))
        }
        guard case .tlsFailed = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.isTransient == false)
    }

    @Test func startTLSRequiredButNotOffered() async throws {
        let server = try await SMTPTestServer(directory: try SMTPTestEnvironment.temporaryDirectory())
        defer { server.stop() }
        let client = try SMTPClient(configuration: SMTPConfiguration(
            host: "127.0.0.1", port: server.port, username: Self.user, password: Self.password, security: .startTLS))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "asha@example.in", to: ["a@example.in"], message: Array("x\r\n".utf8))
        }
        guard case .tlsFailed = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func missingCAFileIsAConfigurationError() {
        #expect {
            try SMTPClient(configuration: SMTPConfiguration(host: "h", security: .startTLS, trustedCAFile: "/nonexistent/ca.pem"))
        } throws: { error in
            guard case .invalidConfiguration = error as? SMTPError else { return false }
            return true
        }
    }

    // MARK: broken servers

    @Test func serverDownIsATransientConnectionFailure() async throws {
        let port = try await SMTPTestEnvironment.freePort()
        let client = try SMTPClient(configuration: Self.plain(port))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "a@b.in", to: ["c@d.in"], message: Array("x\r\n".utf8))
        }
        guard case .connectionFailed = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.isTransient == true)
    }

    @Test func silentServerTimesOut() async throws {
        let server = try await RawTCPServer()
        let client = try SMTPClient(configuration: Self.plain(server.port, commandTimeout: .milliseconds(300)))
        let start = ContinuousClock.now
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "a@b.in", to: ["c@d.in"], message: Array("x\r\n".utf8))
        }
        let elapsed = ContinuousClock.now - start
        await server.stop()
        #expect(error == .timeout(.greeting))
        #expect(error?.isTransient == true)
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(30), "bounded by the timeout, not hanging (generous: CI machines are loaded)")
    }

    @Test(arguments: [
        "HTTP/1.1 400 Bad Request\r\n\r\n", "SSH-2.0-OpenSSH_9.2\r\n", "220-a\r\n250 b\r\n",
        String(repeating: "x", count: 5000), "\u{00}\u{ff}\u{fe}\r\n",
    ])
    func garbageRepliesAreAProtocolError(greeting: String) async throws {
        let server = try await RawTCPServer(greeting: greeting)
        let client = try SMTPClient(configuration: Self.plain(server.port, commandTimeout: .seconds(5)))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "a@b.in", to: ["c@d.in"], message: Array("x\r\n".utf8))
        }
        await server.stop()
        guard case .protocolError = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.isTransient == true)
    }

    /// A 554 greeting ("no service") is a permanent reply error at the greeting stage.
    @Test func rejectingGreeting() async throws {
        let server = try await RawTCPServer(greeting: "554 5.3.2 not accepting mail\r\n")
        let client = try SMTPClient(configuration: Self.plain(server.port))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "a@b.in", to: ["c@d.in"], message: Array("x\r\n".utf8))
        }
        await server.stop()
        #expect(error == .reply(code: 554, text: "5.3.2 not accepting mail", stage: .greeting))
        #expect(error?.isTransient == false)
    }
}

/// SMTPClient against scripted servers: the corners aiosmtpd does not reach.
@Suite(.timeLimit(.minutes(1)))
struct SMTPClientScriptTests {
    static func client(_ port: Int, security: SMTPConfiguration.Security = .off) throws -> SMTPClient {
        try SMTPClient(configuration: SMTPConfiguration(
            host: "127.0.0.1", port: port, security: security, connectTimeout: .seconds(5), commandTimeout: .seconds(5),
            heloName: "sabha.test"))
    }

    @Test func heloWhenEHLOIsUnknown() async throws {
        let server = try await ScriptedSMTPServer(answers: [
            "502 5.5.1 what?\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n", "221 bye\r\n",
        ])
        let report = try await Self.client(server.port).send(from: "a@b.in", to: ["c@d.in"], message: Array("x\r\n".utf8))
        await server.stop()
        #expect(report.accepted == ["c@d.in"])
        #expect(server.received.withLockedValue { $0 } == [
            "EHLO sabha.test", "HELO sabha.test", "MAIL FROM:<a@b.in>", "RCPT TO:<c@d.in>", "DATA", ".", "QUIT",
        ])
    }

    /// Anything the server sends after its 220 to STARTTLS arrived in clear: refuse it (RFC 3207 section 5, CVE-2011-0411).
    @Test func plaintextAfterSTARTTLSReplyIsRejected() async throws {
        let server = try await ScriptedSMTPServer(answers: [
            "250-scripted\r\n250 STARTTLS\r\n", "220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n",
        ])
        let error = await #expect(throws: SMTPError.self) {
            try await Self.client(server.port, security: .startTLS)
                .send(from: "a@b.in", to: ["c@d.in"], message: Array("x\r\n".utf8))
        }
        await server.stop()
        guard case .protocolError = error else { Issue.record("got \(String(describing: error))"); return }
    }

    /// 4xx at MAIL FROM (greylisting, full queue): transient, reported with its stage.
    @Test func transientMailFromReply() async throws {
        let server = try await ScriptedSMTPServer(answers: ["250 hi\r\n", "451 4.7.1 try again later\r\n"])
        let error = await #expect(throws: SMTPError.self) {
            try await Self.client(server.port).send(from: "a@b.in", to: ["c@d.in"], message: Array("x\r\n".utf8))
        }
        await server.stop()
        #expect(error == .reply(code: 451, text: "4.7.1 try again later", stage: .mailFrom))
        #expect(error?.isTransient == true)
    }

    /// A 452 for one recipient and a 550 for another: the third still gets the message.
    @Test func mixedRecipientReplies() async throws {
        let server = try await ScriptedSMTPServer(answers: [
            "250 hi\r\n", "250 ok\r\n", "452 4.2.2 mailbox full\r\n", "550 5.1.1 unknown\r\n", "250 ok\r\n", "354 go\r\n",
            "250 queued\r\n", "221 bye\r\n",
        ])
        let report = try await Self.client(server.port)
            .send(from: "a@b.in", to: ["full@d.in", "nobody@d.in", "ok@d.in"], message: Array(".x\r\n".utf8))
        await server.stop()
        #expect(report.accepted == ["ok@d.in"])
        #expect(report.refused.map(\.code) == [452, 550])
        #expect(report.refused.map(\.isTransient) == [true, false])
    }

    /// The server hangs up after the greeting: a transient connection failure, not a hang.
    @Test func serverClosesMidSession() async throws {
        let server = try await ScriptedSMTPServer(answers: ["<close>"])
        let client = try Self.client(server.port)
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(from: "a@b.in", to: ["c@d.in"], message: Array("x\r\n".utf8))
        }
        await server.stop()
        guard case .connectionFailed = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.isTransient == true)
    }
}
