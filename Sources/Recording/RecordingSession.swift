import Foundation
import Logging
import MediaCore

/// One room's recording: every published track goes to its own WebM file under `directory/tracks`, through a tap
/// inside the server (no browser, no extra network hop), and `directory/recording.json` says which file is whose and
/// where on the timeline it lies. Tracks come and go with `sync`; `stop` closes every file and writes the manifest.
/// A track whose file cannot be written (the disk is full) stops alone, and `problem` says why.
public actor RecordingSession {
    public nonisolated let id: String
    public nonisolated let room: String
    public nonisolated let directory: String
    public nonisolated let startedAt: Date
    private let engine: MediaEngine
    let logger: Logger
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant

    final class Active {
        let track: RecordedTrack
        let tap: MediaTap
        let recorder: TrackRecorder
        /// The simulcast layer recorded: the top one.
        let layer: Int
        let from: Int64
        var lastKeyframeRequest: Int64 = -10_000
        init(track: RecordedTrack, tap: MediaTap, recorder: TrackRecorder, layer: Int, from: Int64) {
            (self.track, self.tap, self.recorder, self.layer, self.from) = (track, tap, recorder, layer, from)
        }

        /// Hands what waits in the tap (of the recorded layer) to the recorder; the tap is emptied even when writing
        /// fails, and the first failure is thrown.
        func feed(now: Int64) throws(RecordingError) {
            var failure: RecordingError?
            _ = tap.drain { layer, bytes in
                guard failure == nil, layer == self.layer else { return }
                if let report = MediaTap.senderReport(bytes) { return recorder.noteSenderReport(ntp: report.ntp, rtp: report.rtp) }
                do throws(RecordingError) { try recorder.receive(Array(bytes), now: now) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }

    private(set) var active: [ProducerID: Active] = [:]
    private(set) var finished: [Manifest.Track] = []
    /// For each finished track (by index): its first frame's arrival and capture time, as its recorder saw them.
    private var firstFrames: [Int: (time: Int64, capturedNTP: Int64?)] = [:]
    private(set) var timeline: [TimelineEvent] = []
    private var people: [String: RecordedPerson] = [:]
    private var synced = false
    private var polling: Task<Void, Never>?
    private var failedProducers: Set<ProducerID> = []
    public private(set) var problem: String?
    public private(set) var stopped = false
    /// Free space the disk must keep (0: not watched), and who is told once when it has less (or a write found
    /// the disk full): the hub, which stops the recording and tells the room.
    private let minimumFree: Int64
    private let diskNearlyFull: @Sendable (String) -> Void
    private var toldDiskNearlyFull = false
    private(set) var polls = 0

    /// How often the taps are emptied into the files.
    static let pollInterval: Duration = .milliseconds(20)

    public init(id: String, room: String, directory: String, engine: MediaEngine, logger: Logger, minimumFree: Int64 = 0,
                diskNearlyFull: @escaping @Sendable (String) -> Void = { _ in }) throws(RecordingError) {
        self.minimumFree = minimumFree
        self.diskNearlyFull = diskNearlyFull
        self.id = id
        self.room = room
        self.directory = directory
        self.engine = engine
        self.logger = logger
        startedAt = Date()
        started = clock.now
        do {
            try FileManager.default.createDirectory(atPath: directory + "/tracks", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        } catch {
            throw .io("cannot create \(directory): \(error.localizedDescription)")
        }
    }

    /// Milliseconds since the recording started: the timeline every file is placed on.
    var now: Int64 {
        let elapsed = clock.now - started
        return elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    /// Adds an event at the current time (chat, active speaker).
    public func note(_ event: TimelineEvent) {
        guard !stopped else { return }
        var event = event
        event.at = now
        timeline.append(event)
    }

    /// Records exactly `tracks` from now on: taps the new ones, closes the files of those gone; notes who came and
    /// went, and screen shares starting and stopping.
    public func sync(_ tracks: [RecordedTrack], people present: [RecordedPerson]) async {
        guard !stopped else { return }
        if polling == nil { polling = Task { await self.pollLoop() } }
        notePeople(present)
        let wanted = Set(tracks.map(\.producer))
        for producer in active.keys where !wanted.contains(producer) {
            if let track = active[producer]?.track, track.source == "screen" { note(TimelineEvent(type: .screenStopped, participant: track.participant, identity: track.identity, name: track.name)) }
            close(producer)
        }
        for track in tracks where active[track.producer] == nil && track.source == "screen" {
            note(TimelineEvent(type: .screenStarted, participant: track.participant, identity: track.identity, name: track.name))
        }
        // A track whose file failed is not started again (its file exists, and the failure would repeat).
        for track in tracks where active[track.producer] == nil && !failedProducers.contains(track.producer) {
            do {
                let (tap, parameters) = try await engine.openTap(producer: track.producer)
                guard !stopped, active[track.producer] == nil else { engine.closeTap(producer: track.producer); continue }
                let file = "\(directory)/tracks/\(Self.fileName(track))"
                active[track.producer] = Active(track: track, tap: tap, recorder: TrackRecorder(path: file, kind: track.kind == .video ? .video : .audio),
                                                layer: max(0, parameters.encodings.count - 1), from: now)
                logger.info("recording a track", metadata: ["room": "\(room)", "participant": "\(track.participant)", "track": "\(track.track)", "kind": "\(track.kind.rawValue)"])
            } catch {
                logger.notice("cannot record a track", metadata: ["room": "\(room)", "track": "\(track.track)", "error": "\(error)"])
            }
        }
    }

    private func notePeople(_ present: [RecordedPerson]) {
        let now = Dictionary(present.map { ($0.participant, $0) }, uniquingKeysWith: { first, _ in first })
        for (id, person) in people where now[id] == nil { note(TimelineEvent(type: .left, participant: id, identity: person.identity, name: person.name)) }
        for (id, person) in now where people[id] == nil {
            note(TimelineEvent(type: synced ? .joined : .present, participant: id, identity: person.identity, name: person.name))
        }
        people = now
        synced = true
    }

    /// "<identity>-<source>-<track>.webm", with anything but letters, digits, '-' and '_' made '_'.
    static func fileName(_ track: RecordedTrack) -> String {
        let safe = { (text: String) in String(text.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" ? Character($0) : "_" }.prefix(40)) }
        return "\(safe(track.identity))-\(track.source)-\(safe(track.track)).webm"
    }

    private func pollLoop() async {
        while !stopped {
            poll()
            if polls % Self.checkpointPolls == 0 { checkpoint() }
            polls += 1
            if polls % 50 == 0 { checkFreeSpace() }  // once a second
            try? await Task.sleep(for: Self.pollInterval)
        }
    }

    /// Tells the hub, once, when the disk has less free space than it must keep.
    private func checkFreeSpace() {
        guard minimumFree > 0, let free = DiskSpace.available(at: directory), free < minimumFree else { return }
        reportDiskNearlyFull("the disk is nearly full: \(DiskSpace.describe(free)) left, \(DiskSpace.describe(minimumFree)) must stay free")
    }

    private func reportDiskNearlyFull(_ why: String) {
        guard !toldDiskNearlyFull else { return }
        toldDiskNearlyFull = true
        problem = why
        logger.error("recording must stop", metadata: ["room": "\(room)", "recording": "\(id)", "why": "\(why)"])
        diskNearlyFull(why)
    }

    /// Empties every tap into its file, and asks for a keyframe where a video waits for one (at most once a second).
    private func poll() {
        let time = now
        for (producer, entry) in active {
            do throws(RecordingError) {
                try entry.feed(now: time)
                try entry.recorder.drain(now: time)
            } catch {
                problem = "\(entry.track.name)'s \(entry.track.kind.rawValue): \(error)"
                logger.error("recording of a track stopped", metadata: ["room": "\(room)", "track": "\(entry.track.track)", "error": "\(error)"])
                close(producer)
                failedProducers.insert(producer)
                if case .diskFull = error { reportDiskNearlyFull("the disk is full (writing \(entry.track.name)'s \(entry.track.kind.rawValue))") }
                continue
            }
            if entry.recorder.needsKeyframe && time - entry.lastKeyframeRequest >= 1_000 {
                entry.lastKeyframeRequest = time
                engine.requestKeyframe(producer: producer)
            }
        }
    }

    private func close(_ producer: ProducerID) {
        guard let entry = active.removeValue(forKey: producer) else { return }
        engine.closeTap(producer: producer)
        let time = now
        try? entry.feed(now: time)
        let written = (try? entry.recorder.finish(now: time)) ?? false
        guard written else { return }
        finished.append(Manifest.Track(file: "tracks/" + (entry.recorder.path as NSString).lastPathComponent, track: entry.track.track,
                                       participant: entry.track.participant, identity: entry.track.identity, name: entry.track.name,
                                       kind: entry.track.kind.rawValue, source: entry.track.source, from: entry.from, to: time,
                                       frames: entry.recorder.framesWritten, packetsLost: entry.recorder.packetsLost))
        if let first = entry.recorder.firstFrame { firstFrames[finished.count - 1] = first }
    }

    /// Offsets that line each publisher's tracks up by their sender reports: a track's first frame is placed at its
    /// arrival, and audio and video of one person may arrive tens of milliseconds apart from how they were captured.
    /// The track that arrived with the least delay keeps its place; the others move (earlier) to match the
    /// publisher's own clock.
    private func alignTracks() {
        var least: [String: Int64] = [:]
        for (index, first) in firstFrames {
            guard let captured = first.capturedNTP else { continue }
            let participant = finished[index].participant
            least[participant] = min(least[participant] ?? .max, first.time - captured)
        }
        for (index, first) in firstFrames {
            guard let captured = first.capturedNTP, let delay = least[finished[index].participant] else { continue }
            finished[index].offset = captured + delay - first.time
        }
    }

    /// Closes every file and writes `recording.json`; returns the manifest.
    @discardableResult
    public func stop() async -> Manifest {
        if !stopped {
            for person in people.values.sorted(by: { $0.participant < $1.participant }) {
                note(TimelineEvent(type: .left, participant: person.participant, identity: person.identity, name: person.name))
            }
            stopped = true
            for producer in Array(active.keys) { close(producer) }
            polling?.cancel()
            alignTracks()
        }
        let manifest = Manifest(id: id, room: room, startedAt: startedAt, duration: now, tracks: finished, timeline: timeline, problem: problem)
        do {
            try manifest.write(folder: directory)
            unlink("\(directory)/\(Manifest.partialFileName)")
        } catch {
            logger.error("cannot write the recording's manifest", metadata: ["room": "\(room)", "recording": "\(id)", "error": "\(error)"])
        }
        return manifest
    }

    /// What was recorded: one entry per track file, placed on the recording's timeline (ms from its start).
    public struct Manifest: Codable, Sendable {
        public struct Track: Codable, Sendable {
            public var file: String
            public var track: String
            public var participant: String
            public var identity: String
            public var name: String
            public var kind: String
            public var source: String
            public var from: Int64
            public var to: Int64
            public var frames: Int
            public var packetsLost: Int
            /// Milliseconds to add to the file's timestamps to line it up with the publisher's other tracks (from
            /// their sender reports); nil when there was no report.
            public var offset: Int64? = nil
        }

        public var id: String
        public var room: String
        public var startedAt: Date
        public var duration: Int64
        public var tracks: [Track]
        /// Joins, leaves, active speakers, screen shares and chat, in order.
        public var timeline: [TimelineEvent]
        public var problem: String?
    }

    /// Tracks being recorded now.
    public var recordingTracks: Int { active.count }
}
