/// The SRTP packet index estimate and replay list of RFC 3711 section 3.3.1, Appendix A and section 3.3.2,
/// with libsrtp's semantics (`srtp_rdbx_estimate_index`, `srtp_rdbx_check`, `srtp_rdbx_add_index`), so the
/// two accept and refuse the same packets.
///
/// State per SSRC: the highest 48-bit index seen (ROC << 16 | SEQ) and a bitmask of `bits` packets in
/// `SRTPContext`'s preallocated stream table; these functions work on it in place and never allocate.
/// Bit `i mod bits` of the mask stands for index `i`, for the `bits` indices up to `highest`.
enum SRTPReplayWindow {
    /// Packets remembered behind the highest: the same as `SRTPSession.replayWindow`.
    static let bits = 1024
    static let words = bits / 64

    /// RFC 3711 Appendix A: the index guess for sequence number `sequence` given the highest index so far,
    /// and its distance from it (positive: newer). libsrtp keeps the ROC at 0 until the highest index
    /// passes 2^15, so a stream whose first packets have high sequence numbers never guesses ROC -1.
    @inline(__always)
    static func estimate(highest: UInt64, sequence: UInt16) -> (index: UInt64, delta: Int32) {
        let median: Int32 = 1 << 15
        if highest <= UInt64(median) {
            return (UInt64(sequence), Int32(sequence) - Int32(truncatingIfNeeded: highest))
        }
        let localROC = UInt32(truncatingIfNeeded: highest >> 16)
        let localSequence = Int32(UInt16(truncatingIfNeeded: highest))
        let s = Int32(sequence)
        var roc = localROC
        var delta = s - localSequence
        if localSequence < median {
            if s - localSequence > median {
                roc = localROC &- 1
                delta = s - localSequence - (1 << 16)
            }
        } else if localSequence - median > s {
            roc = localROC &+ 1
            delta = s - localSequence + (1 << 16)
        }
        return ((UInt64(roc) << 16) | UInt64(sequence), delta)
    }

    /// What the window says about a packet index (libsrtp: ok, replay_fail, replay_old).
    enum Verdict { case fresh, seen, tooOld }

    /// Whether index `highest + delta` is new, already seen, or older than the window.
    @inline(__always)
    static func check(delta: Int32, highest: UInt64, mask: UnsafePointer<UInt64>) -> Verdict {
        if delta > 0 { return .fresh }
        let d = Int(-delta)
        if d >= bits { return .tooOld }
        return isSet(highest &- UInt64(d), mask) ? .seen : .fresh
    }

    /// Records index `highest + delta` (after `check` said `.fresh` and the packet authenticated).
    ///
    /// The mask is circular: index `i` lives at bit `i mod bits` (2^48 is a multiple of `bits`, so this holds across
    /// the 48-bit wrap). Moving ahead by one packet, the usual case, clears one bit instead of shifting the window.
    @inline(__always)
    static func add(delta: Int32, highest: inout UInt64, mask: UnsafeMutablePointer<UInt64>) {
        if delta <= 0 {
            set(highest &- UInt64(-delta), mask)
            return
        }
        if Int(delta) >= bits {
            for w in 0..<words { mask[w] = 0 }
        } else {
            var index = highest
            for _ in 0..<Int(delta) {
                index &+= 1
                clear(index, mask)
            }
        }
        highest = (highest &+ UInt64(delta)) & 0xFFFF_FFFF_FFFF
        set(highest, mask)
    }

    @inline(__always)
    private static func isSet(_ index: UInt64, _ mask: UnsafePointer<UInt64>) -> Bool {
        let bit = Int(truncatingIfNeeded: index) & (bits - 1)
        return mask[bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }

    @inline(__always)
    private static func set(_ index: UInt64, _ mask: UnsafeMutablePointer<UInt64>) {
        let bit = Int(truncatingIfNeeded: index) & (bits - 1)
        mask[bit >> 6] |= 1 << UInt64(bit & 63)
    }

    @inline(__always)
    private static func clear(_ index: UInt64, _ mask: UnsafeMutablePointer<UInt64>) {
        let bit = Int(truncatingIfNeeded: index) & (bits - 1)
        mask[bit >> 6] &= ~(1 << UInt64(bit & 63))
    }
}
