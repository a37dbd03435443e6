import Foundation

/// The recordings kept under `<data-dir>/recordings`: one folder each, named `<room>-<time>-<id>`, holding
/// `recording.json` (written when the recording stops) and `tracks/*.webm`. Lists them, finds a file in one, deletes
/// one, and deletes those past the retention period.
public struct RecordingLibrary: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// A finished recording as the admin API lists it.
    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var room: String
        public var startedAt: Date
        public var duration: Int64
        public var bytes: Int64
        public var files: [String]
        public var problem: String?
        /// Where composing it into one file stands; nil for a recording that was never queued for it.
        public var composition: Composition?
    }

    /// The state of a recording's composition, as the API lists it (the whole report is `composition.json`).
    public struct Composition: Codable, Sendable, Equatable {
        public var state: CompositionReport.State
        public var progress: Double
        public var error: String?
    }

    /// What `GET /api/recordings/{id}/file?kind=` serves: the composed file, the sound alone, or every track.
    public enum Kind: String, Sendable, CaseIterable {
        case composed, audio, tracks
    }

    /// Finished recordings, newest first (a recording still running has no recording.json yet).
    public func list() -> [Entry] {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return folders.compactMap { entry(folder: $0) }.sorted { $0.startedAt > $1.startedAt }
    }

    func entry(folder: String) -> Entry? {
        let path = "\(directory)/\(folder)"
        guard let manifest = RecordingSession.Manifest.read(folder: path) else { return nil }
        let report = CompositionReport.read(folder: path)
        var files = manifest.tracks.map(\.file)
        if report?.state == .done {
            files += [CompositionReport.composedFile, CompositionReport.audioFile].filter { FileManager.default.fileExists(atPath: "\(path)/\($0)") }
        }
        let bytes = files.reduce(Int64(0)) { sum, file in
            sum + ((try? FileManager.default.attributesOfItem(atPath: "\(path)/\(file)")[.size] as? NSNumber)?.int64Value ?? 0)
        }
        return Entry(id: manifest.id, room: manifest.room, startedAt: manifest.startedAt, duration: manifest.duration, bytes: bytes,
                     files: files, problem: manifest.problem,
                     composition: report.map { Composition(state: $0.state, progress: $0.progress, error: $0.error) })
    }

    /// The finished recording `id`; nil when there is none (or it is still running).
    public func entry(id: String) -> Entry? {
        locate(id)?.entry
    }

    /// The finished recording `id` and its folder, read once; nil when there is none (or it is still running).
    public func locate(_ id: String) -> (folder: String, entry: Entry)? {
        guard let folder = folder(of: id), let entry = entry(folder: (folder as NSString).lastPathComponent) else { return nil }
        return (folder, entry)
    }

    /// The files a download of `kind` holds, as paths relative to the recording's folder; nil when they are not
    /// there yet (the composition has not finished).
    public static func files(_ kind: Kind, of entry: Entry) -> [String]? {
        let wanted: [String] = switch kind {
        case .composed: [CompositionReport.composedFile]
        case .audio: [CompositionReport.audioFile]
        case .tracks: ["recording.json"] + entry.files.filter { $0.hasPrefix("tracks/") }
        }
        return wanted.allSatisfy({ $0 == "recording.json" || entry.files.contains($0) }) ? wanted : nil
    }

    /// The folder of recording `id` (ids are "r-" and hex digits, so nothing in them can reach outside).
    public func folder(of id: String) -> String? {
        guard id.hasPrefix("r-"), id.count <= 20, id.dropFirst(2).allSatisfy(\.isHexDigit) else { return nil }
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return folders.first { $0.hasSuffix("-" + id) }.map { "\(directory)/\($0)" }
    }

    /// The path of one of a finished recording's files, as listed (`tracks/…webm`, the composed files,
    /// `recording.json` or `composition.json`); nil otherwise.
    public func file(_ name: String, of id: String) -> String? {
        guard let folder = folder(of: id), let entry = entry(folder: (folder as NSString).lastPathComponent),
              name == "recording.json" || (name == CompositionReport.fileName && entry.composition != nil) || entry.files.contains(name) else { return nil }
        return "\(folder)/\(name)"
    }

    /// Deletes a finished recording; false when there is none with that id (or it is still running).
    public func delete(_ id: String) throws -> Bool {
        guard let folder = folder(of: id), FileManager.default.fileExists(atPath: folder + "/recording.json") else { return false }
        try FileManager.default.removeItem(atPath: folder)
        return true
    }

    /// Finishes the recordings a server left running when it was killed (or lost power): each one's last partial
    /// manifest becomes its `recording.json`, with a `problem` that says so, and its files end at their last complete
    /// clusters. Returns them, to be composed. A recording killed in its first seconds, before any manifest was
    /// written, is left as it is.
    public func recoverInterrupted() -> [(folder: String, manifest: RecordingSession.Manifest)] {
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        return folders.compactMap { name in
            let folder = "\(directory)/\(name)"
            guard !FileManager.default.fileExists(atPath: "\(folder)/\(RecordingSession.Manifest.fileName)"),
                  var manifest = RecordingSession.Manifest.read(folder: folder, name: RecordingSession.Manifest.partialFileName) else { return nil }
            let interrupted = "the server stopped while recording; the recording ends at \(manifest.duration / 1_000) s, the last moment it saved"
            manifest.problem = manifest.problem.map { "\($0); \(interrupted)" } ?? interrupted
            guard (try? manifest.write(folder: folder)) != nil else { return nil }
            unlink("\(folder)/\(RecordingSession.Manifest.partialFileName)")
            return (folder, manifest)
        }
    }

    /// Deletes finished recordings that started more than `days` ago; returns their ids.
    public func prune(olderThan days: Int, now: Date = Date()) -> [String] {
        guard days > 0 else { return [] }
        let limit = now.addingTimeInterval(-Double(days) * 86_400)
        return list().filter { $0.startedAt < limit }.compactMap { (try? delete($0.id)) == true ? $0.id : nil }
    }
}
