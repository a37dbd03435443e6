import Foundation

/// Writes an Ogg Opus file (RFC 7845 on RFC 3533): the OpusHead and OpusTags pages, then the audio packets, about a
/// second to a page. Granule positions count 48 kHz samples, the encoder's pre-skip included; the last page's is cut
/// back to the audio's true length.
final class OggOpusWriter {
    let path: String
    private let handle: FileHandle
    private let serial: UInt32
    private var sequence: UInt32 = 0
    private var packets: [[UInt8]] = []
    private var samples: Int64 = 0
    private let preSkip: Int

    /// Packets on one page (50 × 20 ms); a page holds at most 255 lacing values.
    static let packetsPerPage = 50

    init(path: String, preSkip: Int, channels: Int = 1, vendor: String = "Sabha") throws(CompositionError) {
        self.path = path
        self.preSkip = preSkip
        serial = UInt32.random(in: 1...UInt32.max)
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]),
              let handle = FileHandle(forWritingAtPath: path) else { throw .io("cannot create \(path)") }
        self.handle = handle
        var head = Array("OpusHead".utf8) + [1, UInt8(channels), UInt8(preSkip & 0xFF), UInt8(preSkip >> 8 & 0xFF)]
        head += [0x80, 0xBB, 0x00, 0x00, 0x00, 0x00, 0x00]  // 48000 Hz little-endian, gain 0, mapping family 0
        try writePage([head], granule: 0, flags: 0x02)
        let vendorBytes = Array(vendor.utf8)
        var tags = Array("OpusTags".utf8) + Self.littleEndian(UInt32(vendorBytes.count)) + vendorBytes
        tags += Self.littleEndian(UInt32(0))
        try writePage([tags], granule: 0, flags: 0)
    }

    /// Adds one packet of `frameSamples` samples.
    func write(_ packet: [UInt8], frameSamples: Int) throws(CompositionError) {
        packets.append(packet)
        samples += Int64(frameSamples)
        if packets.count == Self.packetsPerPage { try flush(flags: 0, granule: Int64(preSkip) + samples) }
    }

    /// The last page, marked end of stream, with the granule of `totalSamples` of audio; closes the file.
    func finish(totalSamples: Int64) throws(CompositionError) {
        try flush(flags: 0x04, granule: Int64(preSkip) + min(totalSamples, samples), force: true)
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw .io("cannot close \(path): \(error)")
        }
    }

    private func flush(flags: UInt8, granule: Int64, force: Bool = false) throws(CompositionError) {
        guard !packets.isEmpty || force else { return }
        try writePage(packets, granule: granule, flags: flags)
        packets.removeAll(keepingCapacity: true)
    }

    private func writePage(_ packets: [[UInt8]], granule: Int64, flags: UInt8) throws(CompositionError) {
        var lacing: [UInt8] = []
        for packet in packets {
            lacing += [UInt8](repeating: 255, count: packet.count / 255)
            lacing.append(UInt8(packet.count % 255))
        }
        precondition(lacing.count <= 255, "too many packets for one Ogg page")
        var page = Array("OggS".utf8) + [0, flags]
        page += Self.littleEndian(UInt64(bitPattern: granule))
        page += Self.littleEndian(serial) + Self.littleEndian(sequence) + [0, 0, 0, 0]
        page.append(UInt8(lacing.count))
        page += lacing
        for packet in packets { page += packet }
        let crc = Self.crc(page)
        for index in 0..<4 { page[22 + index] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * index)) }
        sequence += 1
        do {
            try handle.write(contentsOf: page)
        } catch {
            throw .io("cannot write \(path): \(error)")
        }
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> T(8 * $0)) }
    }

    /// Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value and final XOR zero.
    static func crc(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0
        for byte in bytes { crc = crc << 8 ^ table[Int(UInt8(crc >> 24) ^ byte)] }
        return crc
    }

    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index) << 24
        for _ in 0..<8 { value = value & 0x8000_0000 != 0 ? value << 1 ^ 0x04C1_1DB7 : value << 1 }
        return value
    }
}
