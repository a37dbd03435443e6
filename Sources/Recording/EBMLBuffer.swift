/// Bytes of EBML (RFC 8794), the binary format of Matroska and WebM: elements are an ID, a size as a variable-length
/// integer, and the data. Built in memory, one cluster or header at a time, then written out in one piece.
struct EBMLBuffer {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }

    /// An element ID as it is on the wire (its length marker included, e.g. 0x1A45DFA3).
    mutating func id(_ id: UInt32) {
        let length = id > 0xFF_FFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1
        for shift in stride(from: (length - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: id >> UInt32(shift))) }
    }

    /// A data size as the shortest variable-length integer that holds it (RFC 8794 §4). All ones are reserved for
    /// "unknown", so a value of 2^(7n)-1 takes n+1 bytes.
    mutating func size(_ value: UInt64) {
        var length = 1
        while length < 8 && value >= (UInt64(1) << UInt64(7 * length)) - 1 { length += 1 }
        size(value, length: length)
    }

    /// A data size in exactly `length` bytes (to be patched in place later).
    mutating func size(_ value: UInt64, length: Int) {
        let marked = value | (UInt64(1) << UInt64(7 * length))
        for shift in stride(from: (length - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: marked >> UInt64(shift))) }
    }

    /// The reserved "unknown size" (8 bytes): a live Segment that a crash leaves open is still readable.
    mutating func unknownSize() {
        bytes.append(0x01)
        bytes.append(contentsOf: repeatElement(0xFF, count: 7))
    }

    mutating func unsigned(_ id: UInt32, _ value: UInt64) {
        var length = 1
        while length < 8 && value >> UInt64(8 * length) != 0 { length += 1 }
        self.id(id)
        size(UInt64(length))
        for shift in stride(from: (length - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func float(_ id: UInt32, _ value: Double) {
        self.id(id)
        size(8)
        let bits = value.bitPattern
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    mutating func string(_ id: UInt32, _ value: String) {
        binary(id, Array(value.utf8))
    }

    mutating func binary(_ id: UInt32, _ value: [UInt8]) {
        self.id(id)
        size(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A master element whose children `body` writes; its size is known once they are.
    mutating func master(_ id: UInt32, _ body: (inout EBMLBuffer) -> Void) {
        var inner = EBMLBuffer()
        body(&inner)
        self.id(id)
        size(UInt64(inner.count))
        bytes.append(contentsOf: inner.bytes)
    }

    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
    mutating func append(byte: UInt8) { bytes.append(byte) }
    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }
}

/// The Matroska element IDs a WebM recording uses (RFC 9559, and the WebM subset).
enum MatroskaID {
    static let ebml: UInt32 = 0x1A45_DFA3
    static let ebmlVersion: UInt32 = 0x4286
    static let ebmlReadVersion: UInt32 = 0x42F7
    static let ebmlMaxIDLength: UInt32 = 0x42F2
    static let ebmlMaxSizeLength: UInt32 = 0x42F3
    static let docType: UInt32 = 0x4282
    static let docTypeVersion: UInt32 = 0x4287
    static let docTypeReadVersion: UInt32 = 0x4285
    static let segment: UInt32 = 0x1853_8067
    static let info: UInt32 = 0x1549_A966
    static let timestampScale: UInt32 = 0x2A_D7B1
    static let duration: UInt32 = 0x4489
    static let dateUTC: UInt32 = 0x4461
    static let muxingApp: UInt32 = 0x4D80
    static let writingApp: UInt32 = 0x5741
    static let tracks: UInt32 = 0x1654_AE6B
    static let trackEntry: UInt32 = 0xAE
    static let trackNumber: UInt32 = 0xD7
    static let trackUID: UInt32 = 0x73C5
    static let trackType: UInt32 = 0x83
    static let flagLacing: UInt32 = 0x9C
    static let codecID: UInt32 = 0x86
    static let codecPrivate: UInt32 = 0x63A2
    static let codecDelay: UInt32 = 0x56AA
    static let seekPreRoll: UInt32 = 0x56BB
    static let video: UInt32 = 0xE0
    static let pixelWidth: UInt32 = 0xB0
    static let pixelHeight: UInt32 = 0xBA
    static let audio: UInt32 = 0xE1
    static let samplingFrequency: UInt32 = 0xB5
    static let channels: UInt32 = 0x9F
    static let cluster: UInt32 = 0x1F43_B675
    static let timestamp: UInt32 = 0xE7
    static let simpleBlock: UInt32 = 0xA3
    static let blockGroup: UInt32 = 0xA0
    static let block: UInt32 = 0xA1
    static let referenceBlock: UInt32 = 0xFB
    static let cues: UInt32 = 0x1C53_BB6B
    static let cuePoint: UInt32 = 0xBB
    static let cueTime: UInt32 = 0xB3
    static let cueTrackPositions: UInt32 = 0xB7
    static let cueTrack: UInt32 = 0xF7
    static let cueClusterPosition: UInt32 = 0xF1
}
