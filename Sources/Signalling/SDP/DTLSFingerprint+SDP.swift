import MediaCore

extension DTLSFingerprint {
    /// Reads `a=fingerprint:<hash function> <XX:XX:...>` (RFC 8122 §5): 16 to 64 hex bytes separated by colons.
    init(sdp attribute: SDPAttribute) throws(SDPError) {
        let fields = (attribute.value ?? "").split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 2, SDPAttribute.isToken(fields[0]) else {
            throw SDPError(.invalidFingerprint, line: attribute.line, "a=fingerprint is a=fingerprint:<hash function> <hex bytes separated by colons>")
        }
        // HH(:HH)*, 16 to 64 bytes: every third character is a colon, the others hex digits.
        var count = 0
        var wellFormed = true
        for (offset, character) in fields[1].utf8.enumerated() {
            wellFormed = wellFormed && (offset % 3 == 2 ? character == UInt8(ascii: ":") : character.isHexDigit)
            count = offset + 1
        }
        let byteCount = (count + 1) / 3
        guard wellFormed, count % 3 == 2, byteCount >= 16, byteCount <= 64 else {
            throw SDPError(.invalidFingerprint, line: attribute.line, "a=fingerprint value must be 16 to 64 hex bytes separated by colons")
        }
        self.init(algorithm: String(fields[0]), value: String(fields[1]))
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x46) || (self >= 0x61 && self <= 0x66)
    }
}
