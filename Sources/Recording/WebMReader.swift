import Foundation

/// Reads a WebM file back, one cluster at a time, so that a long recording never sits in memory whole: the tracks
/// first, then every frame in file order. It reads what the recorder writes (and the common WebM of other tools:
/// SimpleBlocks and BlockGroups, known or unknown Segment size) and survives arbitrary bytes: anything malformed
/// ends the file there, as a crash would have, and what came before is kept.
public final class WebMReader {
    public struct Track: Sendable, Equatable {
        public var number: Int
        public var codec: WebMTrack.Codec
    }

    /// One frame: its track, its time in milliseconds (the file's TimestampScale applied), and its bytes.
    public struct Frame: Sendable, Equatable {
        public var track: Int
        public var timestamp: Int64
        public var keyframe: Bool
        public var bytes: [UInt8]
    }

    public let path: String
    public private(set) var tracks: [Track] = []
    private let descriptor: Int32
    private let fileSize: Int64
    private var position: Int64 = 0
    /// Where the Segment's children end (the file's end when its size is unknown).
    private var segmentEnd: Int64 = 0
    private var timestampScale: Int64 = 1_000_000
    private var pending: [Frame] = []
    private var pendingIndex = 0
    /// Set when the rest of the file cannot be read: malformed, cut short, or an element too large to be sane.
    public private(set) var damage: String?

    /// A cluster larger than this is taken as damage rather than read into memory.
    static let maximumElementBytes: Int64 = 64 << 20

    /// Opens `path` and reads up to its tracks; throws when it is not a WebM file with at least one track.
    public init(path: String) throws(RecordingError) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        fileSize = fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
        do {
            try readHeader()
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    private func readHeader() throws(RecordingError) {
        guard let ebml = element(at: 0), ebml.id == MatroskaID.ebml, let ebmlSize = ebml.size,
              let docType = bytes(at: ebml.dataStart, count: Int(min(ebmlSize, 4_096))).flatMap({ EBMLElement.child(MatroskaID.docType, in: $0) }),
              ["webm", "matroska"].contains(String(decoding: docType, as: UTF8.self)) else {
            throw .invalidArgument("\(path) is not a WebM file")
        }
        guard let segment = element(at: ebml.dataStart + Int64(ebmlSize)), segment.id == MatroskaID.segment else {
            throw .invalidArgument("\(path) has no Segment")
        }
        position = segment.dataStart
        segmentEnd = segment.size.map { min(fileSize, segment.dataStart + Int64($0)) } ?? fileSize
        // Info and Tracks come before the first Cluster in every file the recorder writes.
        while position < segmentEnd, let child = element(at: position), child.id != MatroskaID.cluster {
            guard let size = child.size, size <= UInt64(Self.maximumElementBytes) else { break }
            if child.id == MatroskaID.info || child.id == MatroskaID.tracks,
               let body = bytes(at: child.dataStart, count: Int(size)) {
                if child.id == MatroskaID.info {
                    if let scale = EBMLElement.child(MatroskaID.timestampScale, in: body).map(EBMLElement.unsigned), scale > 0, scale <= 1_000_000_000 {
                        timestampScale = Int64(scale)
                    }
                } else {
                    tracks = Self.tracks(in: body)
                }
            }
            position = child.dataStart + Int64(size)
        }
        guard !tracks.isEmpty else { throw .invalidArgument("\(path) has no track this reader knows (VP8 or Opus)") }
    }

    static func tracks(in body: [UInt8]) -> [Track] {
        EBMLElement.children(of: body).compactMap { entry -> Track? in
            guard entry.id == MatroskaID.trackEntry else { return nil }
            let data = Array(body[entry.range])
            guard let number = EBMLElement.child(MatroskaID.trackNumber, in: data).map(EBMLElement.unsigned), (1...126).contains(number),
                  let codec = EBMLElement.child(MatroskaID.codecID, in: data).map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
            switch codec {
            case "V_VP8":
                let video = EBMLElement.child(MatroskaID.video, in: data) ?? []
                let width = EBMLElement.child(MatroskaID.pixelWidth, in: video).map(EBMLElement.unsigned) ?? 0
                let height = EBMLElement.child(MatroskaID.pixelHeight, in: video).map(EBMLElement.unsigned) ?? 0
                guard (1...16_384).contains(width), (1...16_384).contains(height) else { return nil }
                return Track(number: Int(number), codec: .vp8(width: Int(width), height: Int(height)))
            case "A_OPUS":
                let audio = EBMLElement.child(MatroskaID.audio, in: data) ?? []
                let channels = EBMLElement.child(MatroskaID.channels, in: audio).map(EBMLElement.unsigned) ?? 1
                return Track(number: Int(number), codec: .opus(channels: Int(min(max(channels, 1), 2))))
            default:
                return nil
            }
        }
    }

    /// The next frame in file order; nil at the end (or where the file is damaged: `damage` says how).
    public func next() -> Frame? {
        while pendingIndex >= pending.count {
            guard readCluster() else { return nil }
        }
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }

    /// Reads the next cluster's frames into `pending`; false at the end.
    private func readCluster() -> Bool {
        pending.removeAll(keepingCapacity: true)
        pendingIndex = 0
        while position < segmentEnd {
            guard let child = element(at: position) else {
                if position < fileSize { damage = "an element at byte \(position) cannot be read" }
                return false
            }
            guard let size = child.size, size <= UInt64(Self.maximumElementBytes) else {
                damage = "an element at byte \(position) has no usable size"
                return false
            }
            position = child.dataStart + Int64(size)
            guard child.id == MatroskaID.cluster else { continue }
            guard let body = bytes(at: child.dataStart, count: Int(size)) else {
                damage = "the cluster at byte \(child.dataStart - 8) is cut short"
                return false
            }
            frames(inCluster: body)
            if !pending.isEmpty { return true }
        }
        return false
    }

    private func frames(inCluster body: [UInt8]) {
        var clusterTime: Int64 = 0
        for child in EBMLElement.children(of: body) {
            switch child.id {
            case MatroskaID.timestamp:
                clusterTime = Int64(clamping: EBMLElement.unsigned(Array(body[child.range])))
            case MatroskaID.simpleBlock:
                if let frame = frame(inBlock: body[child.range], clusterTime: clusterTime, simple: true) { pending.append(frame) }
            case MatroskaID.blockGroup:
                let group = Array(body[child.range])
                if let block = EBMLElement.child(MatroskaID.block, in: group),
                   var frame = frame(inBlock: block[...], clusterTime: clusterTime, simple: false) {
                    frame.keyframe = EBMLElement.child(MatroskaID.referenceBlock, in: group) == nil
                    pending.append(frame)
                }
            default:
                continue
            }
        }
    }

    /// A (Simple)Block: the track as a vint, a signed 16-bit time relative to the cluster, flags, then the frame.
    /// Laced blocks (several frames in one) are left out: neither the recorder nor browsers' recorders write them.
    private func frame(inBlock block: ArraySlice<UInt8>, clusterTime: Int64, simple: Bool) -> Frame? {
        let bytes = Array(block)
        guard let (track, length) = EBMLElement.vint(bytes, at: 0, keepMarker: false), bytes.count >= length + 3,
              tracks.contains(where: { $0.number == Int(track) }) else { return nil }
        let relative = Int64(Int16(bitPattern: UInt16(bytes[length]) << 8 | UInt16(bytes[length + 1])))
        let flags = bytes[length + 2]
        guard flags & 0x06 == 0 else { return nil }
        guard let timestamp = Self.milliseconds(cluster: clusterTime, relative: relative, scale: timestampScale) else { return nil }
        return Frame(track: Int(track), timestamp: timestamp, keyframe: simple ? flags & 0x80 != 0 : true,
                     bytes: Array(bytes[(length + 3)...]))
    }

    /// A block's time in milliseconds: (cluster time + relative) × scale ns. A damaged cluster time may sit at the
    /// edge of Int64 (a run went out of range once in the damage test): nil rather than a trap.
    static func milliseconds(cluster: Int64, relative: Int64, scale: Int64) -> Int64? {
        let time = cluster.addingReportingOverflow(relative)
        let ticks = time.partialValue.multipliedReportingOverflow(by: scale)
        guard !time.overflow, !ticks.overflow else { return nil }
        return ticks.partialValue / 1_000_000
    }

    /// An element's header at `offset`: its ID (marker kept), its size (nil: unknown), where its data starts.
    private func element(at offset: Int64) -> (id: UInt32, size: UInt64?, dataStart: Int64)? {
        guard let head = bytes(at: offset, count: Int(min(12, fileSize - offset))), !head.isEmpty,
              let (id, idLength) = EBMLElement.vint(head, at: 0, keepMarker: true), idLength <= 4,
              let (size, sizeLength) = EBMLElement.vint(head, at: idLength, keepMarker: false) else { return nil }
        let unknown = size == (UInt64(1) << UInt64(7 * sizeLength)) - 1
        return (UInt32(id), unknown ? nil : size, offset + Int64(idLength + sizeLength))
    }

    private func bytes(at offset: Int64, count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0, offset + Int64(count) <= fileSize else { return nil }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            done += got
        }
        return buffer
    }
}

/// Reading EBML (RFC 8794) from bytes in memory: variable-length integers, and the children of a master element.
enum EBMLElement {
    /// A vint at `offset`: its value (with the length marker kept, as element IDs are written, or taken off, as sizes
    /// are) and its length in bytes; nil when the bytes end first or the first byte is zero.
    static func vint(_ bytes: [UInt8], at offset: Int, keepMarker: Bool) -> (UInt64, Int)? {
        guard offset < bytes.count, bytes[offset] != 0 else { return nil }
        let length = bytes[offset].leadingZeroBitCount + 1
        guard offset + length <= bytes.count else { return nil }
        var value = UInt64(keepMarker ? bytes[offset] : bytes[offset] & (0xFF >> UInt8(length)))
        for index in 1..<length { value = value << 8 | UInt64(bytes[offset + index]) }
        return (value, length)
    }

    /// The children of a master element's data: IDs and the ranges of their data; stops at the first that does not
    /// fit.
    static func children(of bytes: [UInt8]) -> [(id: UInt32, range: Range<Int>)] {
        var result: [(UInt32, Range<Int>)] = []
        var offset = 0
        while let (id, idLength) = vint(bytes, at: offset, keepMarker: true), idLength <= 4,
              let (size, sizeLength) = vint(bytes, at: offset + idLength, keepMarker: false) {
            let start = offset + idLength + sizeLength
            guard size <= UInt64(bytes.count - start) else { break }
            result.append((UInt32(id), start..<start + Int(size)))
            offset = start + Int(size)
        }
        return result
    }

    /// The data of the first child `id` of a master element's data.
    static func child(_ id: UInt32, in bytes: [UInt8]) -> [UInt8]? {
        children(of: bytes).first { $0.id == id }.map { Array(bytes[$0.range]) }
    }

    /// An unsigned integer element's value (big-endian, up to 8 bytes).
    static func unsigned(_ bytes: [UInt8]) -> UInt64 {
        bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
