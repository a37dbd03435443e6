import Foundation

/// Writes one WebM (Matroska) file as a recording goes, so that a crash loses at most the cluster being built (a few
/// seconds): the header first, with the Segment's size unknown; then each cluster, complete and with its size, in one
/// write followed by fdatasync; at `finish`, the cues, and the duration and the Segment's size patched in place.
/// Timestamps are milliseconds from the start of the recording (TimestampScale 1 ms).
public final class WebMWriter {
    public let path: String
    public let tracks: [WebMTrack]
    private let descriptor: Int32
    /// File offsets: where the Segment's data starts (cue positions count from there), its size, and the Duration.
    private var segmentDataStart: Int64 = 0
    private var segmentSizeOffset: Int64 = 0
    private var durationOffset: Int64 = 0
    private var written: Int64 = 0
    /// The cluster being built: its timestamp, its blocks.
    private var clusterStart: Int64?
    private var cluster = EBMLBuffer(capacity: 256 << 10)
    private var cues: [(time: Int64, position: Int64)] = []
    private var lastTimestamp: [Int: Int64] = [:]
    private(set) public var duration: Int64 = 0
    private var finished = false
    private var hasVideo: Bool { tracks.contains { if case .vp8 = $0.codec { true } else { false } } }

    /// A new cluster at each video keyframe, and at least this often (an audio-only file, or a sender that sends
    /// keyframes only when asked): the most a crash can lose.
    static let maximumClusterDuration: Int64 = 5_000
    static let maximumClusterBytes = 8 << 20

    /// Creates `path` (it must not exist) and writes the header. `startedAt` becomes the file's DateUTC.
    public init(path: String, tracks: [WebMTrack], startedAt: Date = Date()) throws(RecordingError) {
        guard !tracks.isEmpty, Set(tracks.map(\.number)).count == tracks.count, tracks.allSatisfy({ (1...126).contains($0.number) }) else {
            throw .invalidArgument("tracks must be numbered 1...126, each once")
        }
        self.path = path
        self.tracks = tracks
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw .io("cannot create \(path): \(String(cString: strerror(errno)))") }
        do {
            try writeHeader(startedAt: startedAt)
        } catch {
            close(descriptor)
            unlink(path)
            throw error
        }
    }

    deinit {
        if !finished { close(descriptor) }
    }

    private func writeHeader(startedAt: Date) throws(RecordingError) {
        var header = EBMLBuffer()
        header.master(MatroskaID.ebml) { ebml in
            ebml.unsigned(MatroskaID.ebmlVersion, 1)
            ebml.unsigned(MatroskaID.ebmlReadVersion, 1)
            ebml.unsigned(MatroskaID.ebmlMaxIDLength, 4)
            ebml.unsigned(MatroskaID.ebmlMaxSizeLength, 8)
            ebml.string(MatroskaID.docType, "webm")
            ebml.unsigned(MatroskaID.docTypeVersion, 4)
            ebml.unsigned(MatroskaID.docTypeReadVersion, 2)
        }
        header.id(MatroskaID.segment)
        segmentSizeOffset = Int64(header.count)
        header.unknownSize()
        segmentDataStart = Int64(header.count)
        var info = EBMLBuffer()
        info.unsigned(MatroskaID.timestampScale, 1_000_000)
        info.string(MatroskaID.muxingApp, "Sabha")
        info.string(MatroskaID.writingApp, "Sabha recorder")
        // Nanoseconds since 2001-01-01T00:00:00Z, Matroska's epoch.
        info.unsigned(MatroskaID.dateUTC, UInt64(max(0, (startedAt.timeIntervalSinceReferenceDate * 1e9).rounded())))
        let durationAt = info.count + 2 + 1  // ID (2 bytes) and size (1 byte) before the float
        info.float(MatroskaID.duration, 0)
        header.id(MatroskaID.info)
        header.size(UInt64(info.count))
        durationOffset = Int64(header.count + durationAt)
        header.append(info.bytes)
        header.master(MatroskaID.tracks) { list in
            for track in tracks { track.write(to: &list) }
        }
        try put(header.bytes)
    }

    /// Adds one frame of `track` at `timestamp` ms. Timestamps of a track must not go backwards (a frame older than
    /// the last is written at the last one's time, so a reordering upstream cannot break the file).
    public func write(track number: Int, timestamp: Int64, keyframe: Bool, frame: [UInt8]) throws(RecordingError) {
        guard !finished else { throw .invalidArgument("the file is finished") }
        guard let track = tracks.first(where: { $0.number == number }) else { throw .invalidArgument("no track \(number)") }
        let time = max(timestamp, lastTimestamp[number] ?? 0, 0)
        lastTimestamp[number] = time
        let isVideo = if case .vp8 = track.codec { true } else { false }
        if let start = clusterStart {
            let startsNew = (isVideo && keyframe) || time - start >= Self.maximumClusterDuration || time - start > Int64(Int16.max)
                || cluster.count + frame.count > Self.maximumClusterBytes
            if startsNew { try flushCluster() }
        }
        if clusterStart == nil {
            clusterStart = time
            cluster.removeAll()
            // Cue where a player can start: a video keyframe, or any frame of a file without video.
            if keyframe && isVideo || !hasVideo { cues.append((time, written - segmentDataStart)) }
        }
        let relative = Int16(time - clusterStart!)
        cluster.id(MatroskaID.simpleBlock)
        cluster.size(UInt64(frame.count + 4))
        cluster.append(byte: 0x80 | UInt8(number))  // track number as a 1-byte vint
        cluster.append(byte: UInt8(truncatingIfNeeded: UInt16(bitPattern: relative) >> 8))
        cluster.append(byte: UInt8(truncatingIfNeeded: UInt16(bitPattern: relative)))
        cluster.append(byte: keyframe || !isVideo ? 0x80 : 0x00)
        cluster.append(frame)
        duration = max(duration, time)
    }

    /// Writes the cluster being built, and makes it durable.
    public func flushCluster() throws(RecordingError) {
        guard let start = clusterStart else { return }
        var out = EBMLBuffer(capacity: cluster.count + 16)
        var body = EBMLBuffer()
        body.unsigned(MatroskaID.timestamp, UInt64(start))
        out.id(MatroskaID.cluster)
        out.size(UInt64(body.count + cluster.count))
        out.append(body.bytes)
        out.append(cluster.bytes)
        try put(out.bytes)
        fdatasync(descriptor)
        clusterStart = nil
        cluster.removeAll()
    }

    /// Writes what is left, the cues, the duration and the Segment's size, and closes the file.
    public func finish() throws(RecordingError) {
        guard !finished else { return }
        try flushCluster()
        var cueBytes = EBMLBuffer()
        if !cues.isEmpty {
            cueBytes.master(MatroskaID.cues) { list in
                for cue in cues {
                    list.master(MatroskaID.cuePoint) { point in
                        point.unsigned(MatroskaID.cueTime, UInt64(cue.time))
                        point.master(MatroskaID.cueTrackPositions) { position in
                            position.unsigned(MatroskaID.cueTrack, UInt64(tracks[0].number))
                            position.unsigned(MatroskaID.cueClusterPosition, UInt64(cue.position))
                        }
                    }
                }
            }
            try put(cueBytes.bytes)
        }
        var patch = EBMLBuffer()
        patch.float(MatroskaID.duration, Double(duration))
        try put(Array(patch.bytes.suffix(8)), at: durationOffset)
        var size = EBMLBuffer()
        size.size(UInt64(written - segmentDataStart), length: 8)
        try put(size.bytes, at: segmentSizeOffset)
        fdatasync(descriptor)
        close(descriptor)
        finished = true
    }

    /// Bytes written so far (the file's size, less the cluster being built).
    public var bytesWritten: Int64 { written }

    private func put(_ bytes: [UInt8]) throws(RecordingError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw errno == ENOSPC ? .diskFull(path) : .io("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += count
        }
        written += Int64(bytes.count)
    }

    private func put(_ bytes: [UInt8], at position: Int64) throws(RecordingError) {
        let count = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress!, bytes.count, off_t(position)) }
        guard count == bytes.count else { throw .io("cannot update \(path): \(String(cString: strerror(errno)))") }
    }
}
