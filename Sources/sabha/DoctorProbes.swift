import Foundation

/// The network and system probes of `sabha doctor`, on plain sockets: can a port be bound, does a UDP packet sent to
/// the announced address come back to the media port, this machine's addresses, free disk, and an SNTP query
/// (RFC 4330) for the clock's offset. Each has a short timeout; none is used by the server itself.
enum DoctorProbes {
    /// A socket address for `host` (a literal, a name, "0.0.0.0" or "::") and `port`.
    static func address(_ host: String, port: Int) -> (family: Int32, storage: sockaddr_storage, length: socklen_t)? {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen))) }
        return (first.pointee.ai_family, storage, first.pointee.ai_addrlen)
    }

    /// A socket bound to host:port (UDP or TCP), or the reason it cannot be.
    static func bound(_ host: String, port: Int, udp: Bool) -> Result<Int32, ProbeError> {
        guard var target = address(host, port: port) else { return .failure(ProbeError("'\(host)' is not an address of this machine or a name it resolves")) }
        let fd = socket(target.family, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failure(ProbeError(String(cString: strerror(errno)))) }
        var one: Int32 = 1
        if !udp { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let result = withUnsafePointer(to: &target.storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, target.length) } }
        guard result == 0 else {
            let reason = errno == EADDRINUSE ? "in use by another process" : errno == EADDRNOTAVAIL ? "not an address of this machine" : String(cString: strerror(errno))
            close(fd)
            return .failure(ProbeError(reason))
        }
        return .success(fd)
    }

    /// Whether a datagram sent from this machine to `announce`:port arrives on a socket bound where the media worker
    /// binds (`bindHost`:port): what a client's packets need, short of the network in between.
    static func udpArrives(bindHost: String, announce: String, port: Int) -> Result<Bool, ProbeError> {
        let receiver: Int32
        switch bound(bindHost, port: port, udp: true) {
        case .success(let fd): receiver = fd
        case .failure(let error): return .failure(error)
        }
        defer { close(receiver) }
        guard var target = address(announce, port: port) else { return .failure(ProbeError("'\(announce)' is not an IP address")) }
        let sender = socket(target.family, Int32(SOCK_DGRAM.rawValue), 0)
        guard sender >= 0 else { return .failure(ProbeError(String(cString: strerror(errno)))) }
        defer { close(sender) }
        let token = (0..<16).map { _ in UInt8.random(in: 0...255) }
        _ = withUnsafePointer(to: &target.storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(sender, token, token.count, 0, $0, target.length) }
        }
        var poller = pollfd(fd: receiver, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(1)
        var buffer = [UInt8](repeating: 0, count: 64)
        while Date() < deadline {
            guard poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) > 0 else { continue }
            let count = recv(receiver, &buffer, buffer.count, 0)
            if count == token.count && Array(buffer[0..<count]) == token { return .success(true) }
        }
        return .success(false)
    }

    /// The IP addresses of this machine's interfaces.
    static func localAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var addresses: [String] = []
        var cursor = list
        while let entry = cursor {
            if let address = entry.pointee.ifa_addr, [AF_INET, AF_INET6].contains(Int32(address.pointee.sa_family)) {
                var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                let length = socklen_t(address.pointee.sa_family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
                if getnameinfo(address, length, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                    addresses.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: "%").first.map(String.init) ?? "")
                }
            }
            cursor = entry.pointee.ifa_next
        }
        return addresses
    }

    /// The clock's offset from an NTP server in seconds (positive: this machine is behind), by one SNTP exchange.
    static func clockOffset(server: String, port: Int, timeout: TimeInterval = 2) -> Result<Double, ProbeError> {
        guard var target = address(server, port: port) else { return .failure(ProbeError("cannot resolve '\(server)'")) }
        let fd = socket(target.family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return .failure(ProbeError(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var request = [UInt8](repeating: 0, count: 48)
        request[0] = 0x23  // LI 0, version 4, mode 3 (client)
        let sent = Date()
        writeTimestamp(sent, into: &request, at: 40)
        let result = withUnsafePointer(to: &target.storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, request, request.count, 0, $0, target.length) }
        }
        guard result == request.count else { return .failure(ProbeError(String(cString: strerror(errno)))) }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { return .failure(ProbeError("no answer within \(Int(timeout)) s")) }
        var reply = [UInt8](repeating: 0, count: 68)
        let count = recv(fd, &reply, reply.count, 0)
        let received = Date()
        guard count >= 48, reply[0] & 0x07 == 4, reply[1] != 0 else { return .failure(ProbeError("the answer is not an NTP server reply")) }
        let serverReceive = readTimestamp(reply, at: 32), serverTransmit = readTimestamp(reply, at: 40)
        let offset = ((serverReceive - sent.timeIntervalSince1970) + (serverTransmit - received.timeIntervalSince1970)) / 2
        return .success(offset)
    }

    /// Seconds between 1900 (NTP's era 0) and 1970.
    static let ntpEpochOffset: Double = 2_208_988_800

    static func writeTimestamp(_ date: Date, into packet: inout [UInt8], at offset: Int) {
        let ntp = date.timeIntervalSince1970 + ntpEpochOffset
        let seconds = UInt32(truncatingIfNeeded: UInt64(ntp)), fraction = UInt32(truncatingIfNeeded: UInt64((ntp - ntp.rounded(.down)) * 4_294_967_296))
        for i in 0..<4 {
            packet[offset + i] = UInt8(truncatingIfNeeded: seconds >> (24 - 8 * i))
            packet[offset + 4 + i] = UInt8(truncatingIfNeeded: fraction >> (24 - 8 * i))
        }
    }

    static func readTimestamp(_ packet: [UInt8], at offset: Int) -> Double {
        let word = { (start: Int) in packet[start..<start + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        return Double(word(offset)) + Double(word(offset + 4)) / 4_294_967_296 - ntpEpochOffset
    }
}

struct ProbeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
