import Foundation
import PostgresStore

/// A PostgreSQL cluster of this test process, started once with tools/dev/scratch-postgres.sh (Debian's
/// `postgresql` package) on 127.0.0.1, and stopped when the process exits. Each test gets a database of its own.
enum ScratchPostgres {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/dev/scratch-postgres.sh").path

    /// The cluster's directory, once started (read by the exit handler).
    nonisolated(unsafe) private static var started: String?

    private static let directory: Result<String, ScratchError> = {
        let directory = "/tmp/sabha-store-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(ScratchError) {
            _ = try run("start", directory)
        } catch {
            return .failure(error)
        }
        started = directory
        atexit {
            guard let directory = ScratchPostgres.started else { return }
            _ = try? ScratchPostgres.run("stop", directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        return .success(directory)
    }()

    /// A new, empty database.
    static func database() throws -> DatabaseURL {
        let directory = try directory.get()
        let name = "t_\(UInt64.random(in: 0...UInt64.max))"
        let url = try run("createdb", directory, name).split(separator: "\n").last.map(String.init) ?? ""
        return try DatabaseURL(url)
    }

    struct ScratchError: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs the script through popen(3) and returns what it printed. (Foundation's Process.waitUntilExit hung here,
    /// called from a test while another waited on this type's lazy start.)
    @discardableResult
    static func run(_ arguments: String...) throws(ScratchError) -> String {
        let command = (["/bin/bash", script] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            .joined(separator: " ") + " 2>&1"
        guard let pipe = popen(command, "r") else { throw ScratchError(description: "cannot run \(script)") }
        var output = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            output += String(cString: buffer)
        }
        let status = pclose(pipe)
        guard status == 0 else {
            throw ScratchError(description: "scratch-postgres.sh \(arguments.joined(separator: " ")) failed (\(status)): \(output)")
        }
        return output
    }
}
