import Foundation
import Glibc
import Synchronization

/// A small blocking WebSocket client (RFC 6455) for Janus's WebSocket API and Sabha's meeting socket: one TCP connection to a loopback
/// address, text messages only. A reader thread takes every frame off the socket (so server events never
/// fill it while the generator measures) and hands complete text messages to `onMessage`; `send` may be
/// called from any thread.
final class WebSocketClient: @unchecked Sendable {
    // @unchecked: `fd` is fixed after init; writes are serialised by `writeLock`; the reader thread alone reads.
    let fd: Int32
    private let writeLock = Mutex(())
    private let closed = Atomic<Bool>(false)
    private let readerDone = Atomic<Bool>(false)
    private let onMessage: @Sendable (String) -> Void

    /// Connects to `ws://HOST:PORT/PATH` (loopback only) and completes the opening handshake, asking for
    /// `subprotocol` when given (Janus needs one; Sabha's `/ws` uses none).
    init(url: String, subprotocol: String?, timeoutMs: Int = 10_000, onMessage: @escaping @Sendable (String) -> Void) throws {
        guard url.hasPrefix("ws://") else { throw LoadgenError.configuration("a WebSocket URL starts with ws:// (got \(url))") }
        let http = try HTTPClient(url: "http://" + url.dropFirst("ws://".count))
        let afterScheme = url.dropFirst("ws://".count)
        let path = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? "/"
        fd = try http.connectedSocket()
        self.onMessage = onMessage
        do {
            var timeout = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var nonce = [UInt8](repeating: 0, count: 16)
            for i in nonce.indices { nonce[i] = UInt8.random(in: 0...255) }
            let key = Data(nonce).base64EncodedString()
            let host = http.host.contains(":") ? "[\(http.host)]" : http.host
            let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(http.port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
                + (subprotocol.map { "Sec-WebSocket-Protocol: \($0)\r\n" } ?? "") + "\r\n"
            try Self.writeAll(fd, Array(request.utf8))
            // Read the 101 response byte by byte up to the blank line, so no frame bytes are consumed here.
            var head: [UInt8] = []
            while !(head.count >= 4 && Array(head.suffix(4)) == [13, 10, 13, 10]) {
                guard head.count < 16_384 else { throw LoadgenError.signalling("WebSocket handshake: response head too long") }
                var byte: UInt8 = 0
                let n = recv(fd, &byte, 1, 0)
                if n < 0 && errno == EINTR { continue }
                guard n == 1 else { throw LoadgenError.signalling("WebSocket handshake with \(url): no answer (\(String(cString: strerror(errno))))") }
                head.append(byte)
            }
            guard let response = HTTPClient.parse(head, atEnd: true), response.status == 101 else {
                throw LoadgenError.signalling("WebSocket handshake with \(url): \(String(decoding: head.prefix(200), as: UTF8.self))")
            }
            let expected = Data(SHA1.hash(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
            guard response.header("Sec-WebSocket-Accept") == expected else {
                throw LoadgenError.signalling("WebSocket handshake with \(url): wrong Sec-WebSocket-Accept")
            }
            guard response.header("Sec-WebSocket-Protocol") == subprotocol else {
                throw LoadgenError.signalling("WebSocket handshake with \(url): the server did not accept subprotocol \(subprotocol ?? "(none)")")
            }
            // The reader blocks; a 1 s timeout lets it notice `close()`.
            timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        } catch {
            Glibc.close(fd)
            throw error
        }
        let reader = Thread { [self] in
            readLoop()
            readerDone.store(true, ordering: .releasing)
        }
        reader.start()
    }

    deinit { Glibc.close(fd) }

    /// Sends one text message (masked, as a client must).
    func send(_ text: String) throws {
        guard !closed.load(ordering: .relaxed) else { throw LoadgenError.signalling("WebSocket is closed") }
        try writeLock.withLock { _ in try Self.writeAll(fd, Self.frame(opcode: 0x1, payload: Array(text.utf8))) }
    }

    /// Sends a close frame and waits briefly for the reader to stop.
    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        _ = try? writeLock.withLock { _ in try Self.writeAll(fd, Self.frame(opcode: 0x8, payload: [0x03, 0xE8])) }
        shutdown(fd, Int32(SHUT_RDWR))
        for _ in 0..<40 where !readerDone.load(ordering: .acquiring) { usleep(50_000) }
    }

    /// Drops the connection as a lost network would: no close frame, just the TCP connection shut down.
    func abort() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        for _ in 0..<40 where !readerDone.load(ordering: .acquiring) { usleep(50_000) }
    }

    var isOpen: Bool { !closed.load(ordering: .relaxed) && !readerDone.load(ordering: .acquiring) }

    // MARK: - Framing

    /// A client frame: FIN, opcode, mask bit, 7/16/64-bit length, masking key, masked payload.
    static func frame(opcode: UInt8, payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            out.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            out += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            out.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt64(payload.count) >> UInt64(shift))) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        out += mask
        out.reserveCapacity(out.count + payload.count)
        for (i, byte) in payload.enumerated() { out.append(byte ^ mask[i & 3]) }
        return out
    }

    private func readLoop() {
        var buffer: [UInt8] = []
        var message: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !closed.load(ordering: .relaxed) {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                break
            }
            buffer += chunk[0..<n]
            // Take every complete frame off the front of `buffer`.
            while let (consumed, fin, opcode, payload) = Self.parseFrame(buffer) {
                buffer.removeFirst(consumed)
                switch opcode {
                case 0x0, 0x1:
                    message += payload
                    if fin {
                        onMessage(String(decoding: message, as: UTF8.self))
                        message.removeAll(keepingCapacity: true)
                    }
                case 0x9:
                    _ = try? writeLock.withLock { _ in try Self.writeAll(fd, Self.frame(opcode: 0xA, payload: payload)) }
                case 0x8:
                    closed.store(true, ordering: .relaxed)
                    return
                default:
                    break  // pong, binary: not used by Janus's text protocol
                }
            }
            guard buffer.count < 64 << 20 else { break }
        }
        closed.store(true, ordering: .relaxed)
    }

    /// One server frame (unmasked) at the start of `bytes`: bytes consumed, FIN, opcode, payload; nil if incomplete.
    static func parseFrame(_ bytes: [UInt8]) -> (Int, Bool, UInt8, [UInt8])? {
        guard bytes.count >= 2 else { return nil }
        let fin = bytes[0] & 0x80 != 0
        let opcode = bytes[0] & 0x0F
        let masked = bytes[1] & 0x80 != 0
        var length = Int(bytes[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = 0
            for i in 2..<10 { length = length << 8 | Int(bytes[i]) }
            offset = 10
            guard length >= 0, length < 64 << 20 else { return nil }
        }
        var mask: [UInt8] = []
        if masked {
            guard bytes.count >= offset + 4 else { return nil }
            mask = Array(bytes[offset..<(offset + 4)])
            offset += 4
        }
        guard bytes.count >= offset + length else { return nil }
        var payload = Array(bytes[offset..<(offset + length)])
        if masked { for i in payload.indices { payload[i] ^= mask[i & 3] } }
        return (offset + length, fin, opcode, payload)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LoadgenError.signalling("WebSocket send: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }
}
