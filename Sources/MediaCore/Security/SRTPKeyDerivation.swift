import COpenSSL

/// The SRTP key derivation function (RFC 3711 section 4.3): the AES-CM PRF keyed with the master key, over
/// `(master salt XOR (label << 48)) << 16` with a 16-bit block counter, key derivation rate 0.
///
/// AEAD_AES_128_GCM uses the same PRF with its 96-bit master salt (RFC 7714 section 11); the salt is first
/// multiplied by 2^16 like a 112-bit one (RFC 7714 erratum 4938), as libsrtp does.
/// Runs once per session at setup, not on the packet path: it may allocate.
enum SRTPKeyDerivation {
    /// RFC 3711 section 4.3.2 labels.
    enum Label: UInt8 {
        case rtpEncryption = 0x00
        case rtpAuthentication = 0x01
        case rtpSalt = 0x02
        case rtcpEncryption = 0x03
        case rtcpAuthentication = 0x04
        case rtcpSalt = 0x05
    }

    /// The first `length` bytes of the PRF's keystream for `label`.
    static func derive(masterKey: [UInt8], masterSalt: [UInt8], label: Label, length: Int) throws -> [UInt8] {
        guard masterKey.count == 16, masterSalt.count == 14 || masterSalt.count == 12, length > 0 else {
            throw MediaError.srtp("key derivation needs a 16-byte master key and a 14- or 12-byte master salt")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw MediaError.srtp("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        guard EVP_EncryptInit_ex(context, EVP_aes_128_ecb(), nil, masterKey, nil) == 1,
              EVP_CIPHER_CTX_set_padding(context, 0) == 1 else { throw MediaError.srtp("AES-128-ECB setup failed") }

        // x = key_id XOR master salt, key_id = label || r (r = 0), aligned so the label is byte 7 of 14.
        var block = [UInt8](repeating: 0, count: 16)
        for (i, byte) in masterSalt.enumerated() { block[i] = byte }
        block[7] ^= label.rawValue
        var output = [UInt8](repeating: 0, count: (length + 15) / 16 * 16)
        var counter: UInt16 = 0
        var written = 0
        while written < length {
            block[14] = UInt8(counter >> 8)
            block[15] = UInt8(counter & 0xFF)
            var outLength: Int32 = 0
            let ok = output.withUnsafeMutableBufferPointer { out in
                EVP_EncryptUpdate(context, out.baseAddress! + written, &outLength, block, 16)
            }
            guard ok == 1, outLength == 16 else { throw MediaError.srtp("AES-128-ECB failed") }
            written += 16
            counter += 1
        }
        return Array(output.prefix(length))
    }
}
