import Glibc
@testable import MediaCore

/// How a test peer's datagrams reach a worker: real loopback UDP, or a worker's memory I/O.
protocol PeerLink: AnyObject {
    func send(_ bytes: UnsafeRawBufferPointer)
    /// One datagram for the peer, or nil when none comes.
    func receive() -> [UInt8]?
}

/// A UDP socket on 127.0.0.1 with a 50 ms receive timeout.
final class UDPPeerLink: PeerLink {
    let fd: Int32
    var server: TransportAddress
    private var buffer = [UInt8](repeating: 0, count: 2048)

    init(serverPort: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(bound == 0)
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        server = TransportAddress(ip: "127.0.0.1", port: serverPort)!
    }

    deinit { close(fd) }

    func send(_ bytes: UnsafeRawBufferPointer) {
        _ = server.withSockAddr { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
    }

    func receive() -> [UInt8]? {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }
}
