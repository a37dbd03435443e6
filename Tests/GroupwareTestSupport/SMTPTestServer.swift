import Foundation

/// A Python SMTP server process, stopped by `stop()` (closing its stdin) or killed on deinit.
public final class SMTPTestServer: @unchecked Sendable {
    public let process: Process
    public let stdin: Pipe
    public let directory: URL
    public let port: Int

    /// Tests/Fixtures/smtp/smtp_server.py: exact bytes per recipient into `directory`.
    public init(directory: URL, arguments: [String] = []) async throws {
        let log = directory.appendingPathComponent("server.out")
        let errors = directory.appendingPathComponent("server.err")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
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
    public init(mailbox directory: URL) async throws {
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
    public func deliveries() throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".eml") {
            result[name] = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
        }
        return result
    }

    /// Closes its stdin (the fixture server's signal to stop), then ends it as `SMTPTestEnvironment.end` does (the
    /// aiosmtpd command line ignores SIGTERM).
    public func stop() {
        try? stdin.fileHandleForWriting.close()
        SMTPTestEnvironment.end(process)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
