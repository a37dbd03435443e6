import Foundation
import Logging
import MediaCore

/// The manifest on disk: `recording.json` when a recording stops, and `recording.partial.json` every few seconds
/// while it runs, so that a server killed mid-recording (power, SIGKILL, a crash) leaves a recording that the next
/// start finishes (`RecordingLibrary.recoverInterrupted`), lists and composes, up to its last complete clusters.
extension RecordingSession.Manifest {
    public static let fileName = "recording.json"
    public static let partialFileName = "recording.partial.json"

    /// Writes the manifest as `name` in `folder`, replacing the old file whole.
    public func write(folder: String, name: String = fileName) throws {
        try JSONFile.write(self, folder: folder, name: name)
    }

    /// The manifest `name` in `folder`; nil when there is none or it cannot be read.
    public static func read(folder: String, name: String = fileName) -> Self? {
        JSONFile.read(Self.self, folder: folder, name: name)
    }
}

extension RecordingSession {
    /// How often the partial manifest is rewritten while recording (in polls of `pollInterval`): every 2 s.
    static let checkpointPolls = 100

    /// The manifest as it stands: the closed tracks, and the open ones up to now.
    func currentManifest() -> Manifest {
        let time = now
        let open = active.values.filter { $0.recorder.framesWritten > 0 }.map { entry in
            Manifest.Track(file: "tracks/" + (entry.recorder.path as NSString).lastPathComponent, track: entry.track.track,
                           participant: entry.track.participant, identity: entry.track.identity, name: entry.track.name,
                           kind: entry.track.kind.rawValue, source: entry.track.source, from: entry.from, to: time,
                           frames: entry.recorder.framesWritten, packetsLost: entry.recorder.packetsLost)
        }
        return Manifest(id: id, room: room, startedAt: startedAt, duration: time, tracks: finished + open.sorted { $0.file < $1.file },
                        timeline: timeline, problem: problem)
    }

    /// Rewrites `recording.partial.json`; a failure is logged once a minute at most (the recording goes on).
    func checkpoint() {
        do {
            try currentManifest().write(folder: directory, name: Manifest.partialFileName)
        } catch {
            if polls % 3_000 == 0 { logger.warning("cannot write the recording's partial manifest", metadata: ["room": "\(room)", "error": "\(error)"]) }
        }
    }
}
