/// A parsed STUN message (RFC 5389 / RFC 8489 section 5), with the attributes ICE needs
/// (RFC 8445 section 7.1) decoded and the offsets of MESSAGE-INTEGRITY and FINGERPRINT kept, so
/// both can be checked against the original bytes. Control path: parsing may allocate (USERNAME).
public struct STUNMessage: Sendable, Hashable {
    /// The two class bits of the message type (RFC 5389 section 6).
    public enum Class: UInt8, Sendable, Hashable {
        case request = 0
        case indication = 1
        case successResponse = 2
        case errorResponse = 3
    }

    /// ERROR-CODE (RFC 5389 section 15.6): code 300–699 and a UTF-8 reason phrase.
    public struct ErrorCode: Sendable, Hashable {
        public var code: UInt16
        public var reason: String
        public init(code: UInt16, reason: String) {
            self.code = code
            self.reason = reason
        }
    }

    public static let magicCookie: UInt32 = 0x2112_A442
    public static let headerLength = 20
    /// The Binding method, the only one ICE uses.
    public static let bindingMethod: UInt16 = 0x001
    /// XORed into the CRC-32 for FINGERPRINT (RFC 5389 section 15.5): "STUN".
    public static let fingerprintXOR: UInt32 = 0x5354_554E

    public var messageClass: Class
    /// The 12-bit method, kept as sent (binding = 1).
    public var method: UInt16
    public var transactionID: STUNTransactionID
    /// Total length of the message in bytes, header included.
    public var length: Int

    public var username: String?
    public var priority: UInt32?
    public var useCandidate: Bool = false
    public var iceControlling: UInt64?
    public var iceControlled: UInt64?
    public var errorCode: ErrorCode?
    public var xorMappedAddress: TransportAddress?
    public var mappedAddress: TransportAddress?
    public var realm: String?
    public var nonce: String?
    public var software: String?
    /// Offset of the MESSAGE-INTEGRITY attribute header; attributes after it (but FINGERPRINT) are ignored.
    public var messageIntegrityOffset: Int?
    /// Offset of the FINGERPRINT attribute header; FINGERPRINT is always the last attribute.
    public var fingerprintOffset: Int?
    /// Comprehension-required attribute types (< 0x8000) this parser does not know, for a 420 answer.
    public var unknownRequiredAttributes: [UInt16] = []

    public var isBindingRequest: Bool { messageClass == .request && method == Self.bindingMethod }

    init(messageClass: Class, method: UInt16, transactionID: STUNTransactionID, length: Int) {
        self.messageClass = messageClass
        self.method = method
        self.transactionID = transactionID
        self.length = length
    }

    /// Quick test used by the demultiplexer's callers: enough bytes, top bits zero and the magic cookie.
    public static func looksLikeSTUN(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= headerLength && bytes[0] & 0xC0 == 0 && bytes.u32(4) == magicCookie
    }

    /// Parses a whole datagram as one STUN message; nil unless it is well formed: magic cookie,
    /// zero top bits, a length that is a multiple of 4 and matches the datagram, every attribute
    /// inside the message, known attributes of the right size, and FINGERPRINT (if any) last.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> STUNMessage? {
        guard looksLikeSTUN(bytes) else { return nil }
        let type = bytes.u16(0)
        let bodyLength = Int(bytes.u16(2))
        guard bodyLength % 4 == 0, headerLength + bodyLength == bytes.count else { return nil }

        let classBits = UInt8(truncatingIfNeeded: ((type >> 7) & 0x2) | ((type >> 4) & 0x1))
        let method = (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2)
        let transactionID = STUNTransactionID(bytes: bytes, at: 8)
        var message = STUNMessage(
            messageClass: Class(rawValue: classBits)!, method: method,
            transactionID: transactionID, length: bytes.count)

        var offset = headerLength
        while offset < bytes.count {
            guard offset + 4 <= bytes.count, message.fingerprintOffset == nil else { return nil }
            let attributeType = bytes.u16(offset)
            let valueLength = Int(bytes.u16(offset + 2))
            let value = offset + 4
            let paddedLength = (valueLength + 3) & ~3
            guard value + paddedLength <= bytes.count else { return nil }
            defer { offset = value + paddedLength }

            if message.messageIntegrityOffset != nil && attributeType != STUNAttributeType.fingerprint {
                continue  // RFC 5389 15.4: ignore everything after MESSAGE-INTEGRITY but FINGERPRINT
            }
            let valueBytes = UnsafeRawBufferPointer(rebasing: bytes[value..<(value + valueLength)])

            switch attributeType {
            case STUNAttributeType.username:
                guard message.username == nil else { continue }
                guard let text = String(validating: valueBytes, as: UTF8.self) else { return nil }
                message.username = text
            case STUNAttributeType.priority:
                guard valueLength == 4 else { return nil }
                if message.priority == nil { message.priority = bytes.u32(value) }
            case STUNAttributeType.useCandidate:
                guard valueLength == 0 else { return nil }
                message.useCandidate = true
            case STUNAttributeType.iceControlling:
                guard valueLength == 8 else { return nil }
                if message.iceControlling == nil { message.iceControlling = bytes.u64(value) }
            case STUNAttributeType.iceControlled:
                guard valueLength == 8 else { return nil }
                if message.iceControlled == nil { message.iceControlled = bytes.u64(value) }
            case STUNAttributeType.errorCode:
                guard valueLength >= 4 else { return nil }
                let errorClass = UInt16(bytes[value + 2] & 0x07)
                let number = UInt16(bytes[value + 3])
                guard number < 100 else { return nil }
                let reason = String(decoding: UnsafeRawBufferPointer(rebasing: valueBytes[4...]), as: UTF8.self)
                if message.errorCode == nil {
                    message.errorCode = ErrorCode(code: errorClass * 100 + number, reason: reason)
                }
            case STUNAttributeType.xorMappedAddress:
                guard let address = decodeAddress(valueBytes, xor: transactionID) else { return nil }
                if message.xorMappedAddress == nil { message.xorMappedAddress = address }
            case STUNAttributeType.mappedAddress:
                guard let address = decodeAddress(valueBytes, xor: nil) else { return nil }
                if message.mappedAddress == nil { message.mappedAddress = address }
            case STUNAttributeType.realm:
                if message.realm == nil { message.realm = String(decoding: valueBytes, as: UTF8.self) }
            case STUNAttributeType.nonce:
                if message.nonce == nil { message.nonce = String(decoding: valueBytes, as: UTF8.self) }
            case STUNAttributeType.software:
                if message.software == nil { message.software = String(decoding: valueBytes, as: UTF8.self) }
            case STUNAttributeType.messageIntegrity:
                guard valueLength == 20 else { return nil }
                message.messageIntegrityOffset = offset
            case STUNAttributeType.fingerprint:
                guard valueLength == 4 else { return nil }
                message.fingerprintOffset = offset
            default:
                if attributeType < 0x8000 && !STUNAttributeType.isKnownRequired(attributeType) {
                    message.unknownRequiredAttributes.append(attributeType)
                }
            }
        }
        return message
    }

    /// (XOR-)MAPPED-ADDRESS value (RFC 5389 sections 15.1 and 15.2).
    private static func decodeAddress(_ value: UnsafeRawBufferPointer, xor transactionID: STUNTransactionID?) -> TransportAddress? {
        guard value.count >= 4 else { return nil }
        let family = value[1]
        let portMask: UInt16 = transactionID == nil ? 0 : UInt16(truncatingIfNeeded: magicCookie >> 16)
        let port = value.u16(2) ^ portMask
        switch family {
        case 0x01:
            guard value.count == 8 else { return nil }
            let mask: UInt32 = transactionID == nil ? 0 : magicCookie
            return TransportAddress(ipv4: value.u32(4) ^ mask, port: port)
        case 0x02:
            guard value.count == 20 else { return nil }
            var highMask: UInt64 = 0
            var lowMask: UInt64 = 0
            if let id = transactionID {
                highMask = UInt64(magicCookie) << 32 | UInt64(id.word0)
                lowMask = UInt64(id.word1) << 32 | UInt64(id.word2)
            }
            return TransportAddress(ipv6High: value.u64(4) ^ highMask, low: value.u64(12) ^ lowMask, port: port)
        default:
            return nil
        }
    }

    /// Checks MESSAGE-INTEGRITY (RFC 5389 section 15.4): HMAC-SHA1 over the message up to the
    /// attribute, with the header's length field set as if the message ended right after it.
    /// For ICE (short-term credentials) the key is the password's UTF-8 bytes.
    public func verifyMessageIntegrity(in bytes: UnsafeRawBufferPointer, key: [UInt8]) -> Bool {
        guard let mi = messageIntegrityOffset, mi >= Self.headerLength, mi + 24 <= bytes.count else { return false }
        var digest = STUNDigest()
        let ok = withUnsafeTemporaryAllocation(byteCount: mi, alignment: 8) { scratch -> Bool in
            scratch.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<mi]))
            scratch.put16(UInt16(mi + 24 - Self.headerLength), at: 2)
            return digest.compute(key: key, over: UnsafeRawBufferPointer(scratch))
        }
        guard ok else { return false }
        return digest.equals(UnsafeRawBufferPointer(rebasing: bytes[(mi + 4)..<(mi + 24)]))
    }

    /// Checks FINGERPRINT (RFC 5389 section 15.5): CRC-32 of the message before it, XOR 0x5354554E.
    public func verifyFingerprint(in bytes: UnsafeRawBufferPointer) -> Bool {
        guard let fp = fingerprintOffset, fp >= Self.headerLength, fp + 8 == bytes.count else { return false }
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<fp])) ^ Self.fingerprintXOR
        return crc == bytes.u32(fp + 4)
    }
}
