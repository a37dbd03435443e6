import COpenSSL

/// The one place that talks to OpenSSL's global state: the error queue and digests.
///
/// OpenSSL 3 initialises itself on first use, so there is nothing to call at start;
/// this type only turns the thread's error queue into text for `DTLSState.failed`.
enum OpenSSLLibrary {
    /// Pops every queued error of the calling thread and joins them; "" when none is queued.
    static func drainErrors() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.joined(separator: "; ")
    }

    /// The digest for an SDP a=fingerprint hash name (RFC 8122 section 5), nil for an unknown one.
    static func digest(forFingerprintAlgorithm name: String) -> OpaquePointer? {
        switch name.lowercased() {
        case "sha-1": return EVP_sha1()
        case "sha-224": return EVP_sha224()
        case "sha-256": return EVP_sha256()
        case "sha-384": return EVP_sha384()
        case "sha-512": return EVP_sha512()
        default: return nil
        }
    }

    /// The fingerprint of a DER certificate as SDP writes it: upper-case hex bytes joined by colons.
    static func fingerprint(of certificate: OpaquePointer, algorithm: String) -> DTLSFingerprint? {
        guard let digest = digest(forFingerprintAlgorithm: algorithm) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, digest, &bytes, &length) == 1 else { return nil }
        return DTLSFingerprint(algorithm: algorithm, value: hexWithColons(bytes.prefix(Int(length))))
    }

    static func hexWithColons<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits: [Character] = Array("0123456789ABCDEF")
        var text = ""
        text.reserveCapacity(bytes.count * 3)
        for (index, byte) in bytes.enumerated() {
            if index > 0 { text.append(":") }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}
