/// The 96-bit STUN transaction ID (RFC 5389 section 6), held as three integers so it hashes cheaply.
public struct STUNTransactionID: Hashable, Sendable, CustomStringConvertible {
    public var word0: UInt32
    public var word1: UInt32
    public var word2: UInt32

    public init(_ word0: UInt32, _ word1: UInt32, _ word2: UInt32) {
        self.word0 = word0
        self.word1 = word1
        self.word2 = word2
    }

    /// Reads 12 bytes at `offset` (the caller checks bounds).
    init(bytes: UnsafeRawBufferPointer, at offset: Int) {
        self.init(bytes.u32(offset), bytes.u32(offset + 4), bytes.u32(offset + 8))
    }

    /// A fresh random ID (from the system RNG, as RFC 5389 asks for unpredictable IDs).
    public static func random() -> STUNTransactionID {
        var g = SystemRandomNumberGenerator()
        return STUNTransactionID(g.next(), g.next(), g.next())
    }

    func write(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.put32(word0, at: offset)
        buffer.put32(word1, at: offset + 4)
        buffer.put32(word2, at: offset + 8)
    }

    public var description: String {
        func hex(_ v: UInt32) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 8 - s.count) + s
        }
        return hex(word0) + hex(word1) + hex(word2)
    }
}
