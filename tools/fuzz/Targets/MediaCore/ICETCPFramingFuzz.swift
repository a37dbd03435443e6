import Glibc
@testable import MediaCore

/// RFC 4571 framing as an ICE-TCP connection reads it (`ICETCPConnection`), over a real socket pair: the input,
/// written in pieces whose sizes the input chooses, must come out as exactly the frames a plain reading of the
/// stream finds, up to the first frame we refuse (empty, or longer than a packet); every frame framed back into the
/// send buffer and written out must read back as the same bytes.
enum ICETCPFramingFuzz {
    static let name = "icetcp"
    /// What the worker gives a frame: a receive slot (PacketBufferPool.bufferSize - SRTP trailer).
    static let capacity = 2028

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &ends) == 0 else {
            throw FuzzFailure(name, "socketpair failed: errno \(errno)")
        }
        let connection = ICETCPConnection(fd: ends[0], serial: 1, address: TransportAddress(ipv4: 0x7F00_0001, port: 9).overTCP, nowMs: 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        let expected = reference(data)
        var frames: [[UInt8]] = []
        var refused = false
        let slot = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { slot.deallocate() }
        // Pieces of 1 + (byte % 64) * 37 bytes, the sizes taken from the input itself.
        var offset = 0
        var piece = 0
        while offset < data.count && !refused {
            let size = min(data.count - offset, 1 + Int(data[piece % data.count] % 64) * 37)
            piece += 1
            _ = write(ends[1], data.baseAddress! + offset, size)
            offset += size
            for _ in 0..<64 where !refused {
                let state = connection.read()
                drain: while true {
                    switch connection.nextFrame(into: slot, capacity: capacity) {
                    case .frame(let length): frames.append(Array(UnsafeRawBufferPointer(start: slot, count: length)))
                    case .incomplete: break drain
                    case .invalid: refused = true; break drain
                    }
                }
                if case .wouldBlock = state { break }
            }
        }
        try check(frames == expected.frames, name, "read \(frames.count) frames, the stream holds \(expected.frames.count)")
        try check(refused == expected.refused, name, "refused \(refused), the stream's first bad frame says \(expected.refused)")
        try echo(frames, through: connection, to: ends[1])
    }

    /// The frames a plain reading finds, and whether it stops at a frame we must refuse.
    static func reference(_ data: UnsafeRawBufferPointer) -> (frames: [[UInt8]], refused: Bool) {
        var frames: [[UInt8]] = []
        var at = 0
        while data.count - at >= 2 {
            let length = Int(data[at]) << 8 | Int(data[at + 1])
            if length == 0 || length > capacity { return (frames, true) }
            guard data.count - at - 2 >= length else { break }
            frames.append(Array(UnsafeRawBufferPointer(rebasing: data[(at + 2)..<(at + 2 + length)])))
            at += 2 + length
        }
        return (frames, false)
    }

    private static func echo(_ frames: [[UInt8]], through connection: ICETCPConnection, to peer: Int32) throws(FuzzFailure) {
        var appended = 0
        for frame in frames where frame.withUnsafeBytes({ connection.append($0.baseAddress!, length: $0.count) }) { appended += 1 }
        try check(appended == frames.count, name, "the send buffer refused a frame it has room for")
        var written: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for _ in 0..<1000 {
            let state = connection.writeOut()
            while true {
                let n = buffer.withUnsafeMutableBytes { read(peer, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                written += buffer[0..<n]
            }
            if case .drained = state { break }
        }
        let expected = frames.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
        try check(written == expected, name, "wrote back \(written.count) bytes, the frames are \(expected.count)")
    }
}
