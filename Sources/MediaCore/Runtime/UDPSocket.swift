import CMediaShims
import Glibc

/// The worker's one UDP socket: every ICE, DTLS, RTP and RTCP packet of its transports goes through it
/// (one port, routed by 5-tuple). Non-blocking; received and sent in batches.
final class UDPSocket {
    let fd: Int32
    /// The port actually bound (differs from the requested one when that was 0).
    let port: UInt16

    init(host: String, port: UInt16) throws(MediaError) {
        var storage = sockaddr_storage()
        var length: socklen_t
        let family: Int32
        if host.contains(":") {
            family = AF_INET6
            length = withUnsafeMutablePointer(to: &storage) { raw in
                raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                    sin6.pointee.sin6_port = port.bigEndian
                    _ = inet_pton(AF_INET6, host, &sin6.pointee.sin6_addr)
                    return socklen_t(MemoryLayout<sockaddr_in6>.size)
                }
            }
        } else {
            family = AF_INET
            var ok: Int32 = 0
            length = withUnsafeMutablePointer(to: &storage) { raw in
                raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    sin.pointee.sin_family = sa_family_t(AF_INET)
                    sin.pointee.sin_port = port.bigEndian
                    ok = inet_pton(AF_INET, host, &sin.pointee.sin_addr)
                    return socklen_t(MemoryLayout<sockaddr_in>.size)
                }
            }
            guard ok == 1 else { throw MediaError.configuration("'\(host)' is not an IP address") }
        }
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MediaError.socket("socket() failed: \(String(cString: strerror(errno)))") }
        if family == AF_INET6 {
            // Bound to "::", one socket takes IPv4 peers too (as ::ffff:a.b.c.d), whatever the system default.
            var v6only: Int32 = 0
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, socklen_t(MemoryLayout<Int32>.size))
        }
        var size: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw MediaError.socket("cannot bind UDP \(host):\(port): \(reason)")
        }
        var actual = sockaddr_storage()
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = withUnsafePointer(to: &actual) { raw in
            family == AF_INET6
                ? raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                : raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    deinit { close(fd) }
}

/// A preallocated array of datagram slots for recvmmsg/sendmmsg, each pointing into a pool buffer.
final class DatagramBatch {
    static let capacity = 64
    let slots: UnsafeMutablePointer<sabha_dgram>
    let buffers: UnsafeMutablePointer<Int32>
    var count = 0

    init() {
        slots = .allocate(capacity: Self.capacity)
        slots.initialize(repeating: sabha_dgram(), count: Self.capacity)
        buffers = .allocate(capacity: Self.capacity)
        buffers.initialize(repeating: -1, count: Self.capacity)
    }

    deinit {
        slots.deallocate()
        buffers.deallocate()
    }

    var isFull: Bool { count == Self.capacity }
}
