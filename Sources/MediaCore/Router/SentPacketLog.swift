/// What a consumer sent under each of its recent sequence numbers: enough to find the source packet in the
/// producer's retransmission buffer and write it again exactly as the viewer first saw it.
final class SentPacketLog {
    struct Entry {
        var sequence: UInt16 = 0
        var sourceSequence: UInt16 = 0
        var layer: UInt8 = 0
        var valid = false
        var pictureID: UInt16 = 0
        var tl0PicIdx: UInt8 = 0
        var timestamp: UInt32 = 0
        /// Last time we resent it: a burst of NACKs for one packet gets one retransmission per interval.
        var resentMs: Int64 = -1_000_000
    }

    static let capacity = 1024
    private let entries: UnsafeMutablePointer<Entry>

    init() {
        entries = .allocate(capacity: Self.capacity)
        entries.initialize(repeating: Entry(), count: Self.capacity)
    }

    deinit {
        entries.deallocate()
    }

    @inline(__always)
    func record(sequence: UInt16, sourceSequence: UInt16, layer: Int, timestamp: UInt32, pictureID: UInt16, tl0PicIdx: UInt8) {
        let slot = entries + Int(sequence) & (Self.capacity - 1)
        slot.pointee = Entry(sequence: sequence, sourceSequence: sourceSequence, layer: UInt8(truncatingIfNeeded: layer),
                             valid: true, pictureID: pictureID, tl0PicIdx: tl0PicIdx, timestamp: timestamp)
    }

    /// The entry sent as `sequence`, if it is still in the log.
    @inline(__always)
    func entry(_ sequence: UInt16) -> UnsafeMutablePointer<Entry>? {
        let slot = entries + Int(sequence) & (Self.capacity - 1)
        return slot.pointee.valid && slot.pointee.sequence == sequence ? slot : nil
    }
}
