import MediaCore

/// A publisher or subscriber driven by a `PeerThread`. Created and signalled on the main thread, then handed
/// to one peer thread (`PeerThread.adopt`) which alone touches it until the threads are joined: hence
/// `@unchecked Sendable` on the classes.
protocol LoadPeer: AnyObject, Sendable {
    var transport: PeerTransport { get }
    var isPublisher: Bool { get }
    /// Starts ICE on the adopting thread.
    func begin(now: Int64)
    /// One datagram from the server. `arrivalNs` is the kernel's receive time (CLOCK_REALTIME).
    func receive(_ data: UnsafeMutableRawPointer, length: Int, arrivalNs: Int64, now: Int64, io: PeerThreadIO)
    /// Timers and media sending; returns when it wants to run again (monotonic ns).
    func tick(now: Int64, io: PeerThreadIO) -> Int64
}

/// Big-endian loads and stores on raw packet memory.
extension UnsafeMutableRawPointer {
    @inline(__always) func be16(_ offset: Int) -> UInt16 {
        UInt16(load(fromByteOffset: offset, as: UInt8.self)) << 8 | UInt16(load(fromByteOffset: offset + 1, as: UInt8.self))
    }
    @inline(__always) func be32(_ offset: Int) -> UInt32 {
        UInt32(be16(offset)) << 16 | UInt32(be16(offset + 2))
    }
    @inline(__always) func be64(_ offset: Int) -> UInt64 {
        UInt64(be32(offset)) << 32 | UInt64(be32(offset + 4))
    }
    @inline(__always) func put16(_ value: UInt16, _ offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }
    @inline(__always) func put32(_ value: UInt32, _ offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }
    @inline(__always) func put64(_ value: UInt64, _ offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
    }
}

/// NTP time (RFC 3550 section 4) from CLOCK_REALTIME nanoseconds.
@inline(__always)
func ntpTimestamp(realtimeNs: Int64) -> UInt64 {
    let seconds = UInt64(realtimeNs / 1_000_000_000) + 2_208_988_800
    let fraction = (UInt64(realtimeNs % 1_000_000_000) << 32) / 1_000_000_000
    return seconds << 32 | fraction
}
