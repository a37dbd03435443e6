import Foundation
import GroupwareBridge
import Testing

/// A real Dovecot 2.3 (Debian `dovecot-imapd`, installed by tools/setup.sh) on 127.0.0.1 at a free port, run as
/// our own child (`dovecot -F -c <config>`) from a temporary folder: config, passwd-file, maildir, base and state
/// folders, log, and a private CA with a server certificate for IMAPS (a second free port) and STARTTLS.
///
/// Dovecot refuses to run its login processes or mail access as root, so they run as the `dovenull` and `nobody`
/// users that every Debian system with Dovecot has; the mail folder is made writable for them.
/// One per suite: the `.dovecot` trait starts it and tests reach it through `DovecotServer.current`.
public final class DovecotServer: Sendable {
    public static let user = "collector"
    /// A space, quote, backslash and non-ASCII: LOGIN must quote or send it as a literal.
    public static let password = "pä ss\"w\\0rd"

    public static let executable = "/usr/sbin/dovecot"
    public static let hasDovecot = FileManager.default.isExecutableFile(atPath: executable)
        && SMTPTestEnvironment.hasOpenSSL && (getpwnam("dovenull") != nil || getpwnam("nobody") != nil)

    @TaskLocal public static var current: DovecotServer?

    public let process: Process
    public let directory: URL
    public let port: Int
    public let tlsPort: Int
    public let caFile: String

    public var log: String { (try? String(contentsOfFile: directory.path + "/dovecot.log", encoding: .utf8)) ?? "" }

    public init() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sabha-imap-\(UUID().uuidString)")
        let d = directory.path
        for folder in ["", "/base", "/state", "/mail"] {
            try FileManager.default.createDirectory(atPath: d + folder, withIntermediateDirectories: true)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: d + "/mail")
        let certificates = try SMTPTestEnvironment.makeCertificates(in: directory)
        try "\(Self.user):{PLAIN}\(Self.password)::::::\n".write(toFile: d + "/passwd", atomically: true, encoding: .utf8)
        // A port can still be taken between the choice and Dovecot's bind (another suite's server): then again, on others.
        var attempt = 0
        while true {
            attempt += 1
            let port = try await SMTPTestEnvironment.freePort()
            var tlsPort = try await SMTPTestEnvironment.freePort()
            while tlsPort == port { tlsPort = try await SMTPTestEnvironment.freePort() }
            try Self.config(directory: d, port: port, tlsPort: tlsPort, certificates: certificates)
                .write(toFile: d + "/dovecot.conf", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = ["-F", "-c", d + "/dovecot.conf"]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            do {
                try await SMTPTestEnvironment.waitForListener(port: port, within: 30)
                try await SMTPTestEnvironment.waitForListener(port: tlsPort, within: 30)
            } catch {
                let log = (try? String(contentsOfFile: d + "/dovecot.log", encoding: .utf8)) ?? ""
                if process.isRunning { process.terminate() }
                process.waitUntilExit()
                if attempt < 3 && log.contains("Address already in use") {
                    try? FileManager.default.removeItem(atPath: d + "/dovecot.log")
                    continue
                }
                try? FileManager.default.removeItem(at: directory)
                throw SMTPTestEnvironment.Failure("Dovecot did not start: \(log.suffix(2000))")
            }
            self.process = process
            self.directory = directory
            self.port = port
            self.tlsPort = tlsPort
            self.caFile = certificates.caFile
            return
        }
    }

    static func config(directory d: String, port: Int, tlsPort: Int, certificates: SMTPTestEnvironment.Certificates) -> String {
        let login = getpwnam("dovenull") != nil ? "dovenull" : "nobody"
        let internalUser = getpwnam("dovecot") != nil ? "dovecot" : "nobody"
        return """
            protocols = imap
            listen = 127.0.0.1
            base_dir = \(d)/base
            state_dir = \(d)/state
            instance_name = sabha-test-\(port)
            log_path = \(d)/dovecot.log
            info_log_path = \(d)/dovecot.log
            ssl = yes
            ssl_cert = <\(certificates.certFile)
            ssl_key = <\(certificates.keyFile)
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            default_internal_user = \(internalUser)
            default_internal_group = \(internalUser == "nobody" ? "nogroup" : internalUser)
            default_login_user = \(login)
            mail_location = maildir:\(d)/mail/%u
            passdb {
              driver = passwd-file
              args = scheme=PLAIN \(d)/passwd
            }
            userdb {
              driver = static
              args = uid=nobody gid=nogroup home=\(d)/mail/%u
            }
            service imap-login {
              chroot =
              inet_listener imap {
                address = 127.0.0.1
                port = \(port)
              }
              inet_listener imaps {
                address = 127.0.0.1
                port = \(tlsPort)
                ssl = yes
              }
            }
            service anvil {
              chroot =
            }
            """
    }

    /// The client configuration for this server: plain (`.off`), STARTTLS or implicit TLS, trusting the test CA.
    public func configuration(
        security: IMAPConfiguration.Security = .off, password: String = password, mailbox: String = "INBOX",
        commandTimeout: Duration = .seconds(10)
    ) -> IMAPConfiguration {
        IMAPConfiguration(
            host: "127.0.0.1", port: security == .implicitTLS ? tlsPort : port, username: Self.user, password: password,
            mailbox: mailbox, security: security, connectTimeout: .seconds(5), commandTimeout: commandTimeout,
            trustedCAFile: caFile)
    }

    /// Runs a Python imaplib script against the server (the repository's .venv Python, or the system's):
    /// `imap` is a logged-in IMAP4 object; the script's stdout is returned.
    @discardableResult
    public func python(_ script: String, input: Data = Data()) throws -> String {
        let python = FileManager.default.isExecutableFile(atPath: SMTPTestEnvironment.python)
            ? SMTPTestEnvironment.python : "/usr/bin/python3"
        let prelude = """
            import imaplib, sys
            imap = imaplib.IMAP4("127.0.0.1", \(port))
            credentials = b"\\0" + \(Self.pythonLiteral(Self.user)).encode() + b"\\0" + \(Self.pythonLiteral(Self.password)).encode()
            imap.authenticate("PLAIN", lambda _: credentials)  # login() would send the non-ASCII password as ASCII

            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", prelude + script + "\nimap.logout()\n"]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SMTPTestEnvironment.Failure("imaplib script failed: \(String(decoding: errors, as: UTF8.self).suffix(2000))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// APPENDs each message to `mailbox` (created when missing), in order; returns their UIDs (APPENDUID, RFC 4315).
    @discardableResult
    public func append(_ messages: [[UInt8]], to mailbox: String = "INBOX") throws -> [UInt32] {
        var input = Data()
        for message in messages {
            input.append(contentsOf: Array("\(message.count)\n".utf8) + message)
        }
        let output = try python("""
            mailbox = \(Self.pythonLiteral(mailbox))
            if mailbox != "INBOX":
                imap.create(mailbox)
            data = sys.stdin.buffer.read()
            while data:
                line, _, data = data.partition(b"\\n")
                size = int(line)
                message, data = data[:size], data[size:]
                typ, resp = imap.append(mailbox, None, None, message)
                assert typ == "OK", resp
                print(resp[0].decode().split()[2].rstrip("]"))
            """, input: input)
        return output.split(separator: "\n").compactMap { UInt32($0) }
    }

    /// The flags of the message with this UID, as the server reports them ("\\Seen \\Recent").
    public func flags(uid: UInt32, mailbox: String = "INBOX") throws -> String {
        try python("""
            imap.select(\(Self.pythonLiteral(mailbox)), readonly=True)
            typ, data = imap.uid("FETCH", "\(uid)", "(FLAGS)")
            print(data[0].decode() if data and data[0] else "")
            """)
    }

    /// DELETE and CREATE of `mailbox`: Dovecot gives the new one another UIDVALIDITY and starts its UIDs at 1.
    public func recreate(_ mailbox: String) throws {
        try python("""
            imap.delete(\(Self.pythonLiteral(mailbox)))
            imap.create(\(Self.pythonLiteral(mailbox)))
            """)
    }

    static func pythonLiteral(_ text: String) -> String {
        "bytes([" + text.utf8.map(String.init).joined(separator: ",") + "]).decode()"
    }

    /// SIGTERM, then SIGKILL after 2 s (`SMTPTestEnvironment.end`).
    public func stop() {
        SMTPTestEnvironment.end(process)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Starts one Dovecot around a whole suite and stops it afterwards.
public struct DovecotTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await DovecotServer()
        defer { server.stop() }
        try await DovecotServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == DovecotTrait {
    public static var dovecot: Self { DovecotTrait() }
}
