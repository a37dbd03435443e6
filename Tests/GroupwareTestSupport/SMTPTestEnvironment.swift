import Foundation
import Synchronization
import NIOCore
import NIOPosix

/// What the mail and calendar tests of GroupwareBridge and Scheduling share: the repository's Python (`<repo>/.venv`,
/// created by tools/setup.sh from Tests/e2e/requirements.txt, with aiosmtpd and Radicale), free ports, a private CA.
public enum SMTPTestEnvironment {
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    public static let python = repository.appendingPathComponent(".venv/bin/python").path
    public static let serverScript = repository.appendingPathComponent("Tests/Fixtures/smtp/smtp_server.py").path

    /// aiosmtpd is importable from the repository's .venv.
    public static let hasAiosmtpd: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? run(python, ["-c", "import aiosmtpd"])) != nil
    }()
    public static let hasOpenSSL = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sabha-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a tool to completion; throws when it fails.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
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

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// SIGTERM, then SIGKILL after 2 s. Polls instead of `waitUntilExit`, which spins a run loop on Linux.
    public static func end(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
    }

    /// A private CA and a server certificate for localhost / 127.0.0.1 signed by it.
    public struct Certificates {
        public var caFile: String
        public var certFile: String
        public var keyFile: String
    }

    public static func makeCertificates(in directory: URL) throws -> Certificates {
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

    /// A port nothing listens on, for a server the test starts next. Chosen below the kernel's ephemeral range
    /// (32768-60999), so no outgoing connection of another test can take it before that server binds it (Dovecot
    /// once failed with "Address already in use" on a port handed out by binding to 0, while the PostgreSQL store's
    /// tests opened connections). Above 20000: the scratch PostgreSQL of those tests uses 15000-19999.
    /// Never the same port twice in one test process: two suites starting servers at once must not be handed one.
    public static func freePort() async throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            guard let channel = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port).get() else { continue }
            try await channel.close()
            return port
        }
        throw Failure("no free TCP port in 20000-31999 on 127.0.0.1")
    }

    private static let handedOut = Mutex<Set<Int>>([])

    /// Waits until something accepts TCP connections on the port.
    public static func waitForListener(port: Int, within seconds: Double = 60) async throws {
        // The deadline alone is not enough: on a loaded machine this task can be starved past it before its first
        // try (other suites' blocking socket reads hold the cooperative threads), so it always tries 40 times.
        let deadline = Date().addingTimeInterval(seconds)
        var attempts = 0
        while Date() < deadline || attempts < 40 {
            attempts += 1
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
