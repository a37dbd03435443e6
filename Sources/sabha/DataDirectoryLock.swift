import Foundation

/// `<data-dir>/sabha.lock`, held (flock) by `sabha serve` for as long as it runs and by `sabha restore` while it
/// replaces the store: two servers never share a store, and a restore never pulls it from under a running one.
/// The kernel lets go of it when the process ends, however it ends.
final class DataDirectoryLock: Sendable {
    static let fileName = "sabha.lock"
    private let descriptor: Int32

    /// Takes the lock, or explains who holds it (`doing`: what the caller wanted, for the message).
    init(dataDirectory: String, doing: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw DataDirectoryLockError("cannot use data directory '\(dataDirectory)': \(error.localizedDescription)")
        }
        let path = (dataDirectory as NSString).appendingPathComponent(Self.fileName)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DataDirectoryLockError("cannot use data directory '\(dataDirectory)': cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw DataDirectoryLockError("cannot \(doing): \(Self.holderText(holder)) uses the data directory '\(dataDirectory)'; stop it first",
                                         heldBy: holder)
        }
        // Who holds it, for the next one's message.
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// "a running 'sabha serve' (pid N)", for the messages of those who find the lock held.
    static func holderText(_ pid: String) -> String {
        "a running 'sabha serve'\(pid.isEmpty ? "" : " (pid \(pid))")"
    }
}

struct DataDirectoryLockError: Error, CustomStringConvertible {
    let description: String
    /// Set when a running server holds the lock: its pid as it wrote it ("" when unreadable); nil for other failures.
    let heldBy: String?
    init(_ description: String, heldBy: String? = nil) {
        self.description = description
        self.heldBy = heldBy
    }
}
