import Composition
import Foundation
import Logging
import MediaCore
import Recording

/// Recording a room (issue 19): a host or an administrator starts and stops it; while it runs every published track
/// of the room is recorded (tracks published later too), everyone in the room is told (`recording`), joiners see it
/// in `joined`, and the audit trail records who started and stopped it. The meeting ending stops it.
extension MeetingHub {
    public struct RecordingStatus: Sendable, Codable, Equatable {
        public var room: String
        public var recording: Bool
        public var id: String?
        public var startedAt: Date?
        public var tracks: Int
        /// Where its files are (under the data directory).
        public var directory: String?
        /// Why a track stopped being recorded (the disk is full, ...).
        public var problem: String?
    }

    public enum RecordingRefusal: Error, Sendable, Equatable {
        case notConfigured
        case noMeeting
        case alreadyRecording
        case notRecording
        case diskNearlyFull(String)
        case failed(String)
    }

    /// Where recordings go (`<data-dir>/recordings`), and what composes them once stopped; set once at start.
    /// Without a directory recording is refused.
    /// `minimumFree`: bytes the disk must keep; below it no recording starts, and one running stops.
    public func setRecordingDirectory(_ path: String, composition: CompositionQueue? = nil, minimumFree: Int64 = 0) {
        recordingDirectory = path
        compositionQueue = composition
        recordingMinimumFree = minimumFree
    }

    /// Stops composing recording `id` (it is about to be deleted).
    public func cancelComposition(id: String) {
        guard let queue = compositionQueue, let folder = recordingLibrary?.folder(of: id) else { return }
        queue.cancel(folder: folder)
    }

    /// Composes recording `id` (again); false when there is no finished recording with that id or nothing composes.
    public func compose(id: String) -> Bool {
        guard let queue = compositionQueue, let (folder, _) = recordingLibrary?.locate(id) else { return false }
        queue.enqueue(folder: folder)
        return true
    }

    /// The finished recordings (nil: recording is off).
    public var recordingLibrary: RecordingLibrary? { recordingDirectory.map(RecordingLibrary.init(directory:)) }

    /// Starts recording a live room; `by` is the host's identity or "admin".
    public func startRecording(room: String, by actor: String) async throws(RecordingRefusal) -> RecordingStatus {
        guard let base = recordingDirectory else { throw .notConfigured }
        guard rooms[room] != nil else { throw .noMeeting }
        guard recordings[room] == nil else { throw .alreadyRecording }
        if recordingMinimumFree > 0, let free = DiskSpace.available(at: base), free < recordingMinimumFree {
            throw .diskNearlyFull("\(DiskSpace.describe(free)) left, \(DiskSpace.describe(recordingMinimumFree)) must stay free")
        }
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let id = "r-" + MeetingHub.randomHex(6)
        let session: RecordingSession
        do {
            session = try RecordingSession(id: id, room: room, directory: "\(base)/\(room)-\(stamp)-\(id)", engine: engine, logger: logger,
                                           minimumFree: recordingMinimumFree, diskNearlyFull: { [weak self] why in
                                               Task { await self?.recordingDiskNearlyFull(room: room, id: id, why: why) }
                                           })
        } catch {
            throw .failed(error.description)
        }
        recordings[room] = session
        auditSink?(AuditEvent(room: room, identity: "", participant: "", event: "recording-started", actor: actor, detail: id))
        logger.notice("recording started", metadata: ["room": "\(room)", "recording": "\(id)", "by": "\(actor)"])
        tellRoom(room, MeetingWire.encode("recording", ["active": true]))
        await syncRecording(room)
        // Whoever speaks already: the composition opens on them, not on the first camera.
        if let speaker = activeSpeakers[room] ?? nil, let who = byID[speaker] {
            await session.note(TimelineEvent(type: .speaker, participant: speaker, identity: who.identity, name: who.name))
        }
        return await recordingStatus(room: room)
    }

    /// Stops a room's recording: every file is closed and `recording.json` written. `reason`, when it is not a
    /// person's choice, goes to everyone in the room with the `recording` message.
    public func stopRecording(room: String, by actor: String, reason: String? = nil) async throws(RecordingRefusal) -> RecordingSession.Manifest {
        guard let session = recordings.removeValue(forKey: room) else { throw .notRecording }
        let manifest = await session.stop()
        auditSink?(AuditEvent(room: room, identity: "", participant: "", event: "recording-stopped", actor: actor, detail: session.id))
        logger.notice("recording stopped", metadata: ["room": "\(room)", "recording": "\(session.id)", "by": "\(actor)",
                                                      "tracks": "\(manifest.tracks.count)", "duration-ms": "\(manifest.duration)"])
        tellRoom(room, MeetingWire.encode("recording", reason.map { ["active": false, "reason": $0] } ?? ["active": false]))
        if !manifest.tracks.isEmpty { compositionQueue?.enqueue(folder: session.directory) }
        return manifest
    }

    public func recordingStatus(room: String) async -> RecordingStatus {
        guard let session = recordings[room] else { return RecordingStatus(room: room, recording: false, tracks: 0) }
        return RecordingStatus(room: room, recording: true, id: session.id, startedAt: session.startedAt,
                               tracks: await session.recordingTracks, directory: session.directory, problem: await session.problem)
    }

    /// A host's `record` message; an error message for the sender when it is refused.
    func record(by id: String, active: Bool) async -> String? {
        guard let participant = byID[id], participant.role == .host else {
            return MeetingWire.error("not-host", "only a host may start or stop recording", fatal: false)
        }
        do throws(RecordingRefusal) {
            if active {
                _ = try await startRecording(room: participant.room, by: participant.identity)
            } else {
                _ = try await stopRecording(room: participant.room, by: participant.identity)
            }
            return nil
        } catch {
            return MeetingWire.error("recording-refused", Self.describe(error), fatal: false)
        }
    }

    /// The recording's disk is nearly full (or a write found it full): the recording stops cleanly, its files are
    /// kept and composed, everyone is told why (the hosts' page says so), and the audit trail records it.
    func recordingDiskNearlyFull(room: String, id: String, why: String) async {
        guard recordings[room]?.id == id else { return }
        logger.error("recording stopped: the disk is nearly full", metadata: ["room": "\(room)", "recording": "\(id)", "why": "\(why)"])
        _ = try? await stopRecording(room: room, by: "disk-nearly-full", reason: "disk-nearly-full")
    }

    static func describe(_ refusal: RecordingRefusal) -> String {
        switch refusal {
        case .notConfigured: "Recording is not available on this server."
        case .noMeeting: "Nobody is in this room: there is nothing to record."
        case .alreadyRecording: "This meeting is already being recorded."
        case .notRecording: "This meeting is not being recorded."
        case .diskNearlyFull(let why): "The server's disk is nearly full (\(why)): the recording cannot start."
        case .failed(let why): "The recording could not start: \(why)"
        }
    }

    /// Something the room's recording follows changed (people, tracks): bring it up to date, when the room records.
    func recordingMayChange(_ room: String) {
        if recordings[room] != nil { Task { await self.syncRecording(room) } }
    }

    /// Gives the room's recording the tracks published now; stops it when the room has emptied.
    func syncRecording(_ room: String) async {
        guard let session = recordings[room] else { return }
        guard let people = rooms[room], !people.isEmpty else {
            _ = try? await stopRecording(room: room, by: "meeting-ended")
            return
        }
        let tracks = people.flatMap { participant in
            participant.published.values.map {
                RecordedTrack(producer: $0.producer, kind: $0.kind, track: $0.id, participant: participant.id,
                              identity: participant.identity, name: participant.name, source: $0.source)
            }
        }
        let present = people.map { RecordedPerson(participant: $0.id, identity: $0.identity, name: $0.name) }
        await session.sync(tracks, people: present)
    }

    /// An event for the room's recording timeline (chat, active speaker), when it records.
    func noteForRecording(_ room: String, _ event: TimelineEvent) {
        guard let session = recordings[room] else { return }
        Task { await session.note(event) }
    }

    /// Everyone in the room and waiting for it.
    private func tellRoom(_ room: String, _ message: String) {
        for participant in rooms[room] ?? [] { participant.send(message) }
        for participant in waitingByID.values where participant.room == room { participant.send(message) }
    }
}
