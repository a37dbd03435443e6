/// Reads structured values off the front of a fuzzer input, for the targets that drive a stateful
/// helper with a sequence of operations. Reading past the end yields zeros and sets `isAtEnd`,
/// so every input, however short, is a valid program.
struct FuzzReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset >= bytes.count }
    var remaining: Int { max(bytes.count - offset, 0) }

    mutating func u8() -> UInt8 {
        guard offset < bytes.count else { offset += 1; return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }

    mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }

    /// The next `count` bytes (fewer at the end of the input), without copying.
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let start = min(offset, bytes.count)
        let end = min(start + max(count, 0), bytes.count)
        offset = max(offset, end)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// A length-prefixed chunk: one byte of length (0...255), then that many bytes.
    mutating func chunk() -> UnsafeRawBufferPointer { take(Int(u8())) }

    /// A chunk with a two-byte length, for datagrams larger than 255 bytes.
    mutating func longChunk() -> UnsafeRawBufferPointer { take(Int(u16())) }
}
