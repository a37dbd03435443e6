/// The SRTCP replay list (RFC 3711 section 3.3.2 applied to the 31-bit SRTCP index), with libsrtp's
/// `srtp_rdb_t` semantics: a 128-packet window starting at `start`; bit `i` of `mask` (word `i / 64`)
/// stands for index `start + i`. On the sending side `start` is the last index sent (libsrtp numbers
/// SRTCP packets from 1). Works in place on `SRTPContext`'s stream table; never allocates.
enum SRTCPReplayWindow {
    static let bits: UInt32 = 128
    /// The largest SRTCP index; libsrtp refuses to send past it (the key must be renegotiated).
    static let maxIndex: UInt32 = 0x7FFF_FFFF

    @inline(__always)
    static func check(index: UInt32, start: UInt32, mask: UnsafePointer<UInt64>) -> SRTPStatus {
        if UInt64(index) >= UInt64(start) + UInt64(bits) { return .ok }
        if index < start { return .replayed }
        let i = Int(index - start)
        return mask[i >> 6] & (1 << UInt64(i & 63)) != 0 ? .replayed : .ok
    }

    @inline(__always)
    static func add(index: UInt32, start: inout UInt32, mask: UnsafeMutablePointer<UInt64>) {
        guard index >= start else { return }
        var delta = index - start
        if delta >= bits {
            // Slide the window so `index` is its last bit.
            let shift = delta - (bits - 1)
            if shift >= 128 {
                mask[0] = 0; mask[1] = 0
            } else if shift >= 64 {
                mask[0] = mask[1] >> UInt64(shift - 64); mask[1] = 0
            } else if shift > 0 {
                mask[0] = (mask[0] >> UInt64(shift)) | (mask[1] << UInt64(64 - shift))
                mask[1] = mask[1] >> UInt64(shift)
            }
            start &+= shift
            delta = bits - 1
        }
        mask[Int(delta >> 6)] |= 1 << UInt64(delta & 63)
    }
}
