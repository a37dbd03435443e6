import Glibc
import Testing
@testable import MediaCore
import CMediaShims

struct TransportAddressTests {
    @Test func parsesIPv4AndPrintsIt() throws {
        let address = try #require(TransportAddress(ip: "192.0.2.1", port: 32853))
        #expect(address.isIPv4)
        #expect(address.ipv4 == 0xC000_0201)
        #expect(address.port == 32853)
        #expect(address.ipString == "192.0.2.1")
        #expect(address.description == "192.0.2.1:32853")
    }

    @Test func parsesIPv6AndPrintsItCompressed() throws {
        let address = try #require(TransportAddress(ip: "2001:db8:1234:5678:11:2233:4455:6677", port: 5000))
        #expect(!address.isIPv4)
        #expect(address.high == 0x2001_0DB8_1234_5678)
        #expect(address.low == 0x0011_2233_4455_6677)
        #expect(address.ipString == "2001:db8:1234:5678:11:2233:4455:6677")
        #expect(TransportAddress(ip: "::1", port: 1)?.description == "[::1]:1")
    }

    @Test func rejectsNonAddresses() {
        #expect(TransportAddress(ip: "localhost", port: 1) == nil)
        #expect(TransportAddress(ip: "256.1.1.1", port: 1) == nil)
        #expect(TransportAddress(ip: "", port: 1) == nil)
    }

    @Test func roundTripsThroughSockaddrStorage() throws {
        for text in ["127.0.0.1", "10.1.2.3", "::1", "fe80::1:2:3:4"] {
            let address = try #require(TransportAddress(ip: text, port: 40000))
            var storage = sockaddr_storage()
            let length = address.write(to: &storage)
            #expect(Int(length) == (address.isIPv4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size))
            #expect(TransportAddress(storage: &storage) == address)
            #expect(TransportAddress(storage: storage) == address)
            let family = address.withSockAddr { pointer, _ in Int32(pointer.pointee.sa_family) }
            #expect(family == (address.isIPv4 ? AF_INET : AF_INET6))
        }
    }

    @Test func sameAddressDifferentPortIsDifferentKey() throws {
        let a = try #require(TransportAddress(ip: "127.0.0.1", port: 1))
        let b = try #require(TransportAddress(ip: "127.0.0.1", port: 2))
        let c = try #require(TransportAddress(ip: "::ffff:127.0.0.1", port: 1))
        #expect(Set([a, b, c, a]).count == 3)
    }

    @Test func connectsAUDPSocketOnLoopback() throws {
        let address = try #require(TransportAddress(ip: "127.0.0.1", port: 9))
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        let result = address.withSockAddr { connect(fd, $0, $1) }
        #expect(result == 0)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        #expect(got == 0)
        #expect(TransportAddress(storage: storage) == address)
    }
}
