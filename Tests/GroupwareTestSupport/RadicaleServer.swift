import Foundation
import GroupwareBridge
import Testing

/// A real Radicale 3 (from `<repo>/.venv`, created by tools/setup.sh) on 127.0.0.1 at a free port,
/// with its config, htpasswd file (plain) and storage in a temporary folder, rights `owner_only`.
/// One per suite: the `.radicale` trait starts it and tests reach it through `RadicaleServer.current`.
public final class RadicaleServer: Sendable {
    public static let user = "alice"
    /// Non-ASCII, a space, a colon and a percent sign: Basic auth must carry it unchanged.
    public static let password = "pä ss:w0rd@%"

    public static let hasRadicale: Bool = {
        FileManager.default.isExecutableFile(atPath: SMTPTestEnvironment.python)
            && (try? SMTPTestEnvironment.run(SMTPTestEnvironment.python, ["-c", "import radicale"])) != nil
    }()

    @TaskLocal public static var current: RadicaleServer?

    public let process: Process
    public let directory: URL
    public let port: Int

    public var origin: String { "http://127.0.0.1:\(port)" }

    public init() async throws {
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
    public func freshCalendar(timeout: Duration = .seconds(10)) async throws -> CalDAVClient {
        let name = "cal-\(UUID().uuidString.prefix(8).lowercased())"
        let client = CalDAVClient(configuration: try configuration(path: "/\(Self.user)/\(name)", timeout: timeout))
        #expect(try await client.makeCalendar(displayName: "Sabha test \(name)") == true)
        return client
    }

    public func configuration(path: String, password: String = password, timeout: Duration = .seconds(10)) throws -> CalDAVConfiguration {
        var configuration = try CalDAVConfiguration(collectionURL: origin + path, username: Self.user, password: password)
        configuration.timeout = timeout
        return configuration
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
