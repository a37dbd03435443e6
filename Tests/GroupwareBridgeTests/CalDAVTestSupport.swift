import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import GroupwareBridge

/// A real Radicale 3 (from `<repo>/.venv`, created by tools/setup.sh) on 127.0.0.1 at a free port,
/// with its config, htpasswd file (plain) and storage in a temporary folder, rights `owner_only`.
/// One per suite: the `.radicale` trait starts it and tests reach it through `RadicaleServer.current`.
final class RadicaleServer: Sendable {
    static let user = "alice"
    /// Non-ASCII, a space, a colon and a percent sign: Basic auth must carry it unchanged.
    static let password = "pä ss:w0rd@%"

    static let hasRadicale: Bool = {
        FileManager.default.isExecutableFile(atPath: SMTPTestEnvironment.python)
            && (try? SMTPTestEnvironment.run(SMTPTestEnvironment.python, ["-c", "import radicale"])) != nil
    }()

    @TaskLocal static var current: RadicaleServer?

    let process: Process
    let directory: URL
    let port: Int

    var origin: String { "http://127.0.0.1:\(port)" }

    init() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sabha-caldav-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try await SMTPTestEnvironment.freePort()
        try "\(Self.user):\(Self.password)\n".write(to: directory.appendingPathComponent("users"), atomically: true, encoding: .utf8)
        let config = """
            [server]
            hosts = 127.0.0.1:\(port)
            timeout = 10
            [auth]
            type = htpasswd
            htpasswd_filename = \(directory.path)/users
            htpasswd_encryption = plain
            delay = 0
            [rights]
            type = owner_only
            [storage]
            filesystem_folder = \(directory.path)/collections
            [web]
            type = none
            [logging]
            level = warning
            """
        try config.write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        let errors = directory.appendingPathComponent("server.err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SMTPTestEnvironment.python)
        process.arguments = ["-m", "radicale", "--config", directory.appendingPathComponent("config").path]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        self.process = process
        self.directory = directory
        self.port = port
        do {
            try await SMTPTestEnvironment.waitForListener(port: port, within: 60)  // generous: Radicale imports slowly on a loaded machine
        } catch {
            stop()
            let log = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw SMTPTestEnvironment.Failure("Radicale did not start: \(log.suffix(2000))")
        }
    }

    /// A client for a fresh calendar of its own (created with MKCALENDAR), so tests sharing the
    /// server never see each other's events.
    func freshCalendar(timeout: Duration = .seconds(10)) async throws -> CalDAVClient {
        let name = "cal-\(UUID().uuidString.prefix(8).lowercased())"
        let client = CalDAVClient(configuration: try configuration(path: "/\(Self.user)/\(name)", timeout: timeout))
        #expect(try await client.makeCalendar(displayName: "Sabha test \(name)") == true)
        return client
    }

    func configuration(path: String, password: String = password, timeout: Duration = .seconds(10)) throws -> CalDAVConfiguration {
        var configuration = try CalDAVConfiguration(collectionURL: origin + path, username: Self.user, password: password)
        configuration.timeout = timeout
        return configuration
    }

    /// SIGTERM, then SIGKILL after 2 s. Polls instead of `waitUntilExit`, which spins a run loop on Linux.
    func stop() {
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

/// Starts one Radicale around a whole suite and stops it afterwards.
struct RadicaleTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await RadicaleServer()
        defer { server.stop() }
        try await RadicaleServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == RadicaleTrait {
    static var radicale: Self { RadicaleTrait() }
}

/// A small valid event for the CalDAV tests (CRLF line ends, as RFC 5545 section 3.1 wants).
enum CalDAVSample {
    static func event(uid: String, summary: String = "Quarterly review") -> String {
        [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sabha//CalDAV tests//EN", "BEGIN:VEVENT", "UID:\(uid)",
            "DTSTAMP:20260301T080000Z", "DTSTART:20260304T083000Z", "DTEND:20260304T093000Z", "SUMMARY:\(summary)",
            "END:VEVENT", "END:VCALENDAR",
        ].joined(separator: "\r\n") + "\r\n"
    }
}

/// An HTTP server that reads one request (head and Content-Length body), sends `answer` verbatim and closes.
final class OneShotHTTPServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    final class Answerer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let answer: String
        var received = ByteBuffer()
        var answered = false

        init(_ answer: String) { self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            let view = received.readableBytesView
            guard !answered, let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self).lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            guard view.endIndex - end.upperBound >= length else { return }
            answered = true
            let channel = context.channel
            context.writeAndFlush(NIOAny(ByteBuffer(string: answer))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    init(answer: String) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Answerer(answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}
