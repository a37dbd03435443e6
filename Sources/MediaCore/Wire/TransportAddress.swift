import CMediaShims
import Glibc

/// An IPv4 or IPv6 address with a UDP/TCP port.
///
/// It keys the per-packet 5-tuple lookup, so it is stored as plain integers (no arrays, no
/// strings): hashing and comparing are a few word operations. IPv4 addresses live in the low
/// 32 bits of `low` with `high == 0`.
public struct TransportAddress: Hashable, Sendable, CustomStringConvertible {
    /// First 8 bytes of an IPv6 address in network order, read as a big-endian integer; 0 for IPv4.
    public let high: UInt64
    /// Last 8 bytes of an IPv6 address, or the IPv4 address in the low 32 bits (host order value).
    public let low: UInt64
    public let port: UInt16
    public let isIPv4: Bool
    /// The peer end of an ICE-TCP connection (RFC 6544) rather than a UDP source: the same IP and port over TCP
    /// are another path, so they key another entry.
    public private(set) var isTCP = false

    /// This address as the peer end of an ICE-TCP connection.
    public var overTCP: TransportAddress {
        var copy = self
        copy.isTCP = true
        return copy
    }

    /// An IPv4 address given as its 32-bit value (192.0.2.1 is 0xC000_0201).
    public init(ipv4: UInt32, port: UInt16) {
        self.high = 0
        self.low = UInt64(ipv4)
        self.port = port
        self.isIPv4 = true
    }

    /// An IPv6 address given as two big-endian halves.
    public init(ipv6High: UInt64, low: UInt64, port: UInt16) {
        self.high = ipv6High
        self.low = low
        self.port = port
        self.isIPv4 = false
    }

    /// Parses a textual address ("127.0.0.1", "::1"); nil if it is neither.
    public init?(ip: String, port: UInt16) {
        var v4 = in_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            self.init(ipv4: UInt32(bigEndian: v4.s_addr), port: port)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, ip, &v6) == 1 {
            let (h, l) = withUnsafeBytes(of: &v6) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            self.init(ipv6High: h, low: l, port: port)
            return
        }
        return nil
    }

    /// Reads an AF_INET or AF_INET6 socket address (as filled in by recvmmsg); nil for other families.
    public init?(storage: UnsafePointer<sockaddr_storage>) {
        let family = Int32(storage.pointee.ss_family)
        switch family {
        case AF_INET:
            let sin = UnsafeRawPointer(storage).loadUnaligned(as: sockaddr_in.self)
            self.init(ipv4: UInt32(bigEndian: sin.sin_addr.s_addr), port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            var sin6 = UnsafeRawPointer(storage).loadUnaligned(as: sockaddr_in6.self)
            let (h, l) = withUnsafeBytes(of: &sin6.sin6_addr) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            self.init(ipv6High: h, low: l, port: UInt16(bigEndian: sin6.sin6_port))
        default:
            return nil
        }
    }

    /// Reads a socket address value; nil for families other than AF_INET and AF_INET6.
    public init?(storage: sockaddr_storage) {
        var copy = storage
        guard let address = withUnsafePointer(to: &copy, { TransportAddress(storage: $0) }) else { return nil }
        self = address
    }

    /// The IPv4 address as a 32-bit value; meaningless for IPv6.
    public var ipv4: UInt32 { UInt32(truncatingIfNeeded: low) }

    /// Writes the address as sockaddr_in / sockaddr_in6 and returns its length.
    @discardableResult
    public func write(to storage: UnsafeMutablePointer<sockaddr_storage>) -> socklen_t {
        let raw = UnsafeMutableRawPointer(storage)
        if isIPv4 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = ipv4.bigEndian
            raw.storeBytes(of: sin, as: sockaddr_in.self)
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { bytes in
            bytes.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        raw.storeBytes(of: sin6, as: sockaddr_in6.self)
        return socklen_t(MemoryLayout<sockaddr_in6>.size)
    }

    /// Calls `body` with this address as a `sockaddr` (for sendto/connect/bind), without allocating.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var storage = sockaddr_storage()
        let length = write(to: &storage)
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// The address in its usual text form ("127.0.0.1", "2001:db8::1").
    public var ipString: String {
        var storage = sockaddr_storage()
        write(to: &storage)
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok: Bool = withUnsafeMutablePointer(to: &storage) { pointer in
            let raw = UnsafeMutableRawPointer(pointer)
            if isIPv4 {
                let addr = raw.advanced(by: MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!)
                return inet_ntop(AF_INET, addr, &text, socklen_t(text.count)) != nil
            } else {
                let addr = raw.advanced(by: MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!)
                return inet_ntop(AF_INET6, addr, &text, socklen_t(text.count)) != nil
            }
        }
        guard ok else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "127.0.0.1:5000" or "[::1]:5000", with "/tcp" after an ICE-TCP peer.
    public var description: String {
        (isIPv4 ? "\(ipString):\(port)" : "[\(ipString)]:\(port)") + (isTCP ? "/tcp" : "")
    }
}
