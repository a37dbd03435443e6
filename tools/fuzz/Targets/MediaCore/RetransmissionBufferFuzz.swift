import Glibc
@testable import MediaCore

/// `RetransmissionBuffer` with packets stored and looked up as the input dictates. A lookup must
/// return exactly the bytes last stored under that sequence number, or nothing.
enum RetransmissionBufferFuzz {
    static let name = "rtxbuffer"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var reader = FuzzReader(data)
        let capacity = 1 << Int(reader.u8() % 8)
        let maxPacketSize = 1 + Int(reader.u8())
        let buffer = RetransmissionBuffer(capacity: capacity, maxPacketSize: maxPacketSize, maxAgeMs: 1000)
        var stored: [UInt16: [UInt8]] = [:]
        var now: Int64 = 0
        var steps = 0
        while !reader.isAtEnd, steps < 4096 {
            steps += 1
            let op = reader.u8()
            let sequence = reader.u16()
            now += Int64(op & 0x1F)
            if op & 0x80 == 0 {
                let packet = reader.chunk()
                let before = buffer.storedCount
                buffer.store(packet, sequence: sequence, nowMs: now)
                if buffer.storedCount != before { stored[sequence] = Array(packet) }
            } else if op & 0x40 != 0 {
                buffer.reset()
                stored.removeAll()
            } else if let packet = buffer.packet(sequence: sequence, nowMs: now) {
                guard let expected = stored[sequence] else { throw FuzzFailure(name, "returned \(sequence), never stored") }
                try check(packet.count == expected.count && expected.withUnsafeBytes { memcmp($0.baseAddress!, packet.baseAddress!, packet.count) == 0 },
                          name, "returned other bytes for \(sequence)")
            }
        }
    }
}
