import Glibc
import Foundation

/// A blocking HTTP/1.1 client for the generator's few signalling requests (WHIP/WHEP POST and DELETE):
/// one connection per request (`Connection: close`), loopback only, bounded by a timeout.
struct HTTPClient {
    struct Response {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    let host: String
    let port: UInt16
    var timeoutMs = 10_000

    /// Parses `http://127.0.0.1:8080` (or `[::1]`); anything but a loopback address is refused.
    init(url: String) throws {
        guard url.hasPrefix("http://") else { throw LoadgenError.configuration("--server must start with http:// (got \(url))") }
        var rest = Substring(url.dropFirst(7))
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let hostPart: Substring
        var portPart: Substring = "80"
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw LoadgenError.configuration("bad IPv6 literal in \(url)") }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() }
        } else if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        } else {
            hostPart = rest
        }
        let name = hostPart == "localhost" ? "127.0.0.1" : String(hostPart)
        guard name == "::1" || name.hasPrefix("127.") else {
            throw LoadgenError.configuration("the generator only talks to loopback (127.0.0.0/8 or ::1), not \(name)")
        }
        guard let port = UInt16(portPart) else { throw LoadgenError.configuration("bad port in \(url)") }
        self.host = name
        self.port = port
    }

    /// A TCP socket connected to the server, with send and receive timeouts of `timeoutMs`.
    func connectedSocket() throws -> Int32 {
        let ipv6 = host.contains(":")
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LoadgenError.socket("socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var storage = sockaddr_storage()
        let length: socklen_t = withUnsafeMutablePointer(to: &storage) { raw in
            if ipv6 {
                return raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                    sin6.pointee.sin6_port = port.bigEndian
                    _ = inet_pton(AF_INET6, host, &sin6.pointee.sin6_addr)
                    return socklen_t(MemoryLayout<sockaddr_in6>.size)
                }
            }
            return raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = port.bigEndian
                _ = inet_pton(AF_INET, host, &sin.pointee.sin_addr)
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            }
        }
        let connected = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw LoadgenError.signalling("cannot connect to \(host):\(port): \(reason)")
        }
        return fd
    }

    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> Response {
        let ipv6 = host.contains(":")
        let fd = try connectedSocket()
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(ipv6 ? "[\(host)]" : host):\(port)\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try writeAll(fd, Array(head.utf8) + body)

        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while received.count < 4 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw LoadgenError.signalling("\(method) \(path): no complete answer within \(timeoutMs) ms (\(String(cString: strerror(errno))))")
            }
            received += chunk[0..<n]
            if let response = Self.parse(received) { return response }
        }
        guard let response = Self.parse(received, atEnd: true) else {
            throw LoadgenError.signalling("\(method) \(path): malformed HTTP answer")
        }
        return response
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LoadgenError.signalling("send: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// A complete response (head plus Content-Length bytes, or everything at end of stream), or nil.
    static func parse(_ bytes: [UInt8], atEnd: Bool = false) -> Response? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let headEnd = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<($0 + 4)]) == separator }) else {
            return nil
        }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                            String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        let body = Array(bytes[(headEnd + 4)...])
        if headers.contains(where: { $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().contains("chunked") }) {
            // Janus answers chunked; we asked for `Connection: close`, so decode once the stream has ended.
            guard atEnd, let decoded = dechunk(body) else { return nil }
            return Response(status: status, headers: headers, body: decoded)
        }
        if let lengthText = headers.first(where: { $0.name.lowercased() == "content-length" })?.value, let length = Int(lengthText) {
            guard body.count >= length else { return nil }
            return Response(status: status, headers: headers, body: Array(body[0..<length]))
        }
        return atEnd ? Response(status: status, headers: headers, body: body) : nil
    }

    /// Chunked transfer coding (RFC 9112 section 7.1): size line, data, CRLF, until the zero-size chunk.
    static func dechunk(_ body: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        for _ in 0..<100_000 {
            guard let lineEnd = (i..<max(i, body.count - 1)).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }) else { return nil }
            let sizeText = String(decoding: body[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
            if size == 0 { return out }
            let start = lineEnd + 2
            guard start + size <= body.count else { return nil }
            out += body[start..<(start + size)]
            i = start + size + 2
        }
        return nil
    }
}
