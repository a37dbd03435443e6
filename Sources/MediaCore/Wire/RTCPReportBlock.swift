/// A reception report block of SR/RR packets (RFC 3550 section 6.4.1), 24 bytes on the wire.
public struct RTCPReportBlock: Sendable, Hashable {
    public static let length = 24

    public var ssrc: UInt32
    /// Fraction of packets lost since the last report, in 1/256.
    public var fractionLost: UInt8
    /// Cumulative number of packets lost (24-bit signed on the wire).
    public var cumulativeLost: Int32
    public var extendedHighestSequenceNumber: UInt32
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received (LSR).
    public var lastSenderReport: UInt32
    /// Delay since that SR, in 1/65536 s (DLSR).
    public var delaySinceLastSenderReport: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequenceNumber: UInt32,
                jitter: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    /// Reads a block at `offset` (the caller checks that 24 bytes are there).
    init(bytes: UnsafeRawBufferPointer, at offset: Int) {
        let lost = bytes.u24(offset + 5)
        self.init(
            ssrc: bytes.u32(offset), fractionLost: bytes[offset + 4],
            cumulativeLost: Int32(bitPattern: lost << 8) >> 8,  // sign-extend 24 bits
            extendedHighestSequenceNumber: bytes.u32(offset + 8), jitter: bytes.u32(offset + 12),
            lastSenderReport: bytes.u32(offset + 16), delaySinceLastSenderReport: bytes.u32(offset + 20))
    }

    func write(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.put32(ssrc, at: offset)
        buffer[offset + 4] = fractionLost
        let clamped = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        buffer.put24(UInt32(bitPattern: clamped) & 0xFF_FFFF, at: offset + 5)
        buffer.put32(extendedHighestSequenceNumber, at: offset + 8)
        buffer.put32(jitter, at: offset + 12)
        buffer.put32(lastSenderReport, at: offset + 16)
        buffer.put32(delaySinceLastSenderReport, at: offset + 20)
    }
}
