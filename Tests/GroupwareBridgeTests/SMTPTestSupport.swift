import Foundation
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
@testable import GroupwareBridge

/// Real SMTP servers for the SMTPClient tests: aiosmtpd from `<repo>/.venv` (created by
/// tools/setup.sh from Tests/e2e/requirements.txt) and raw TCP listeners that misbehave.
enum SMTPTestEnvironment {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = repository.appendingPathComponent(".venv/bin/python").path
    static let serverScript = repository.appendingPathComponent("Tests/Fixtures/smtp/smtp_server.py").path

    /// aiosmtpd is importable from the repository's .venv.
    static let hasAiosmtpd: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? run(python, ["-c", "import aiosmtpd"])) != nil
    }()
    static let hasOpenSSL = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sabha-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a tool to completion; throws when it fails.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure("\(tool) exited with \(process.terminationStatus)") }
        return process.terminationStatus
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A private CA and a server certificate for localhost / 127.0.0.1 signed by it.
    struct Certificates {
        var caFile: String
        var certFile: String
        var keyFile: String
    }

    static func makeCertificates(in directory: URL) throws -> Certificates {
        let d = directory.path
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run("/usr/bin/openssl", ["req", "-x509"] + ec + [
            "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "2", "-subj", "/CN=Sabha Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        ])
        try run("/usr/bin/openssl", ["req", "-new"] + ec + [
            "-keyout", "\(d)/server.key", "-out", "\(d)/server.csr", "-subj", "/CN=localhost",
        ])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
            .write(toFile: "\(d)/server.ext", atomically: true, encoding: .utf8)
        try run("/usr/bin/openssl", [
            "x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
            "-CAcreateserial", "-out", "\(d)/server.pem", "-days", "2", "-extfile", "\(d)/server.ext",
        ])
        return Certificates(caFile: "\(d)/ca.pem", certFile: "\(d)/server.pem", keyFile: "\(d)/server.key")
    }

    /// A port nothing listens on (bound to 0, then closed).
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    /// Waits until something accepts TCP connections on the port.
    static func waitForListener(port: Int, within seconds: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure("nothing listens on port \(port) after \(seconds) s")
    }
}

/// A Python SMTP server process, stopped by `stop()` (closing its stdin) or killed on deinit.
final class SMTPTestServer: @unchecked Sendable {
    let process: Process
    let stdin: Pipe
    let directory: URL
    let port: Int

    /// Tests/Fixtures/smtp/smtp_server.py: exact bytes per recipient into `directory`.
    init(directory: URL, arguments: [String] = []) async throws {
        let log = directory.appendingPathComponent("server.out")
        let errors = directory.appendingPathComponent("server.err")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        let stdin = Pipe()
        process.executableURL = URL(fileURLWithPath: SMTPTestEnvironment.python)
        process.arguments = [SMTPTestEnvironment.serverScript, directory.path] + arguments
        process.standardInput = stdin
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let deadline = Date().addingTimeInterval(60)  // generous: Python starts slowly on a loaded machine
        var port: Int?
        while port == nil, Date() < deadline, process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }) {
                port = Int(line.dropFirst(6))
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let port else {
            process.terminate()
            let err = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw SMTPTestEnvironment.Failure("SMTP test server did not start: \(err.suffix(2000))")
        }
        self.process = process
        self.stdin = stdin
        self.directory = directory
        self.port = port
    }

    /// The aiosmtpd command line with its Mailbox handler (aiosmtpd 1.4.6 `python -m aiosmtpd --help`).
    init(mailbox directory: URL) async throws {
        let port = try await SMTPTestEnvironment.freePort()
        let process = Process()
        let stdin = Pipe()
        process.executableURL = URL(fileURLWithPath: SMTPTestEnvironment.python)
        process.arguments = [
            "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox",
            directory.appendingPathComponent("Maildir").path,
        ]
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.stdin = stdin
        self.directory = directory
        self.port = port
        try await SMTPTestEnvironment.waitForListener(port: port)
    }

    /// The files the server wrote, by name.
    func deliveries() throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".eml") {
            result[name] = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
        }
        return result
    }

    /// SIGTERM, then SIGKILL after 2 s (the aiosmtpd command line ignores SIGTERM). Polls instead
    /// of `waitUntilExit`, which spins a run loop on Linux.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A TCP listener that accepts and then either stays silent or sends `greeting` bytes.
final class RawTCPServer: @unchecked Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    final class Greeter: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let greeting: String
        init(_ greeting: String) { self.greeting = greeting }
        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(string: greeting)), promise: nil)
            context.fireChannelActive()
        }
    }

    init(greeting: String? = nil) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let greeting { try child.pipeline.syncOperations.addHandler(Greeter(greeting)) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

/// A TCP server that plays a script: `greeting` on connect, then one scripted answer per command
/// line (message content between a 354 and the final "." is skipped; the answer "<close>" hangs up). Commands it
/// received are kept in `received` for the test to check.
final class ScriptedSMTPServer: @unchecked Sendable {
    let channel: any Channel
    let received = NIOLockedValueBox<[String]>([])
    var port: Int { channel.localAddress!.port! }

    final class Player: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let greeting: String
        var answers: [String]
        let received: NIOLockedValueBox<[String]>
        var buffer = ByteBuffer()
        var inData = false

        init(greeting: String, answers: [String], received: NIOLockedValueBox<[String]>) {
            self.greeting = greeting
            self.answers = answers
            self.received = received
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(string: greeting)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            buffer.writeBuffer(&bytes)
            while let line = buffer.readLine() {
                if inData {
                    if line == "." { inData = false } else { continue }
                }
                received.withLockedValue { $0.append(line) }
                guard !answers.isEmpty else { return }
                let answer = answers.removeFirst()
                if answer == "<close>" {
                    context.close(promise: nil)
                    return
                }
                if answer.hasPrefix("354") { inData = true }
                context.writeAndFlush(NIOAny(ByteBuffer(string: answer)), promise: nil)
            }
        }
    }

    init(greeting: String = "220 scripted ESMTP\r\n", answers: [String]) async throws {
        let received = self.received
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        Player(greeting: greeting, answers: answers, received: received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

extension ByteBuffer {
    /// One CRLF-terminated line without its end, or nil when none is complete.
    mutating func readLine() -> String? {
        guard let crlf = readableBytesView.firstRange(of: [UInt8(ascii: "\r"), UInt8(ascii: "\n")]) else { return nil }
        let line = readString(length: crlf.lowerBound - readerIndex)!
        moveReaderIndex(forwardBy: 2)
        return line
    }
}
