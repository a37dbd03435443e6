import COpenSSL

/// The 20-byte HMAC-SHA1 of MESSAGE-INTEGRITY, computed with OpenSSL into a fixed-size value.
struct STUNDigest {
    var bytes: (UInt64, UInt64, UInt32) = (0, 0, 0)

    /// HMAC-SHA1(key, data); false if OpenSSL fails.
    mutating func compute(key: [UInt8], over data: UnsafeRawBufferPointer) -> Bool {
        guard let dataPointer = data.baseAddress else { return false }
        // HMAC() wants a valid key pointer even for an empty key.
        let keyStorage = key.isEmpty ? [0] : key
        return withUnsafeMutableBytes(of: &bytes) { out -> Bool in
            var outLength: UInt32 = 0
            let result = keyStorage.withUnsafeBytes { keyBytes in
                HMAC(
                    EVP_sha1(), keyBytes.baseAddress, Int32(key.count),
                    dataPointer.assumingMemoryBound(to: UInt8.self), data.count,
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength)
            }
            return result != nil && outLength == 20
        }
    }

    /// Constant-time comparison with 20 bytes of a received MESSAGE-INTEGRITY value.
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard other.count == 20 else { return false }
        var mine = bytes
        return withUnsafeBytes(of: &mine) { own in
            var difference: UInt8 = 0
            for i in 0..<20 { difference |= own[i] ^ other[i] }
            return difference == 0
        }
    }

    /// Copies the 20 bytes into `buffer` at `offset`.
    func write(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        var mine = bytes
        withUnsafeBytes(of: &mine) { own in
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + 20)]).copyMemory(from: own)
        }
    }
}
