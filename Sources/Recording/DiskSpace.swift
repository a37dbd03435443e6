import Foundation

/// Free space where recordings are written, as an unprivileged process may use it (statvfs' f_bavail): a recording
/// stops while some is left, rather than when a write fails, so that its files end cleanly and the rest of the
/// server (the store, the logs) still has room.
public enum DiskSpace {
    /// Bytes available on the file system holding `path`, or its nearest existing parent (a directory not created
    /// yet will be on it); nil when it cannot be told.
    public static func available(at path: String) -> Int64? {
        var directory = URL(fileURLWithPath: path).standardizedFileURL
        while !FileManager.default.fileExists(atPath: directory.path) && directory.path != "/" { directory.deleteLastPathComponent() }
        var info = statvfs()
        guard statvfs(directory.path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// "1.2 GB", for messages.
    public static func describe(_ bytes: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file)
    }
}
