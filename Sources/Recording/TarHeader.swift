/// The 512-byte header of one file in a POSIX ustar archive (the `tracks` download): the archive is each file's
/// header, its bytes padded to 512, then two zero blocks. Names longer than 100 bytes are split at a '/' into the
/// header's prefix field, as ustar allows.
public struct TarHeader: Sendable {
    public static let blockSize = 512

    public let bytes: [UInt8]

    /// Nil when `path` cannot be written in ustar (over 255 bytes, or no split that fits).
    public init?(path: String, size: Int64, modified: Int64) {
        let full = Array(path.utf8)
        var name = full, prefix: [UInt8] = []
        if full.count > 100 {
            guard let cut = full.indices.last(where: { full[$0] == UInt8(ascii: "/") && $0 <= 155 && full.count - $0 - 1 <= 100 }) else { return nil }
            prefix = Array(full[..<cut])
            name = Array(full[(cut + 1)...])
        }
        var header = [UInt8](repeating: 0, count: Self.blockSize)
        func put(_ value: [UInt8], at offset: Int) { for (index, byte) in value.enumerated() { header[offset + index] = byte } }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(0o640, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(modified, width: 12), at: 136)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        header[156] = UInt8(ascii: "0")
        put(Array("ustar".utf8) + [0] + Array("00".utf8), at: 257)
        put(Array("sabha".utf8), at: 265)
        put(Array("sabha".utf8), at: 297)
        put(prefix, at: 345)
        let checksum = header.reduce(0) { $0 + Int64($1) }
        put(octal(checksum, width: 7) + [UInt8(ascii: " ")], at: 148)
        bytes = header
    }

    /// Zero bytes that pad a file of `size` bytes to a whole block.
    public static func padding(after size: Int64) -> Int {
        Int((Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize))
    }

    /// The archive's end: two zero blocks.
    public static let end = [UInt8](repeating: 0, count: 2 * blockSize)
}
