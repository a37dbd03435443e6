/// STUN writers for ICE (RFC 8445 section 7): they write into a caller's buffer and return the
/// message length, or 0 when the buffer is too small. Each message ends with MESSAGE-INTEGRITY
/// (when a key is given) and FINGERPRINT, as ICE requires.
extension STUNMessage {
    /// Builds the 16-bit message type from method and class (RFC 5389 section 6, figure 3).
    public static func messageType(method: UInt16, class messageClass: Class) -> UInt16 {
        let c = UInt16(messageClass.rawValue)
        return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
            | ((c & 1) << 4) | ((c & 2) << 7)
    }

    /// A Binding success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT.
    public static func writeBindingSuccess(
        transactionID: STUNTransactionID, mappedAddress: TransportAddress, integrityKey: [UInt8],
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        let addressLength = mappedAddress.isIPv4 ? 8 : 20
        let total = headerLength + 4 + addressLength + 24 + 8
        guard buffer.count >= total else { return 0 }
        var offset = writeHeader(.successResponse, transactionID: transactionID, into: buffer)
        buffer.put16(STUNAttributeType.xorMappedAddress, at: offset)
        buffer.put16(UInt16(addressLength), at: offset + 2)
        buffer.put8(0, at: offset + 4)
        buffer.put8(mappedAddress.isIPv4 ? 1 : 2, at: offset + 5)
        buffer.put16(mappedAddress.port ^ UInt16(truncatingIfNeeded: magicCookie >> 16), at: offset + 6)
        if mappedAddress.isIPv4 {
            buffer.put32(mappedAddress.ipv4 ^ magicCookie, at: offset + 8)
        } else {
            let id = transactionID
            buffer.put64(mappedAddress.high ^ (UInt64(magicCookie) << 32 | UInt64(id.word0)), at: offset + 8)
            buffer.put64(mappedAddress.low ^ (UInt64(id.word1) << 32 | UInt64(id.word2)), at: offset + 16)
        }
        offset += 4 + addressLength
        return finish(buffer, length: offset, integrityKey: integrityKey)
    }

    /// A Binding request as an ICE agent sends it (RFC 8445 section 7.1): USERNAME, PRIORITY,
    /// USE-CANDIDATE, ICE-CONTROLLING or ICE-CONTROLLED, MESSAGE-INTEGRITY, FINGERPRINT.
    public static func writeBindingRequest(
        transactionID: STUNTransactionID, username: String, integrityKey: [UInt8], priority: UInt32,
        useCandidate: Bool, iceControlling: UInt64?, iceControlled: UInt64?,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        var user = username
        return user.withUTF8 { name -> Int in
            guard name.count <= 763 else { return 0 }
            let paddedName = (name.count + 3) & ~3
            var total = headerLength + 4 + paddedName + 8 + 24 + 8
            if useCandidate { total += 4 }
            if iceControlling != nil { total += 12 }
            if iceControlled != nil { total += 12 }
            guard buffer.count >= total else { return 0 }

            var offset = writeHeader(.request, transactionID: transactionID, into: buffer)
            buffer.put16(STUNAttributeType.username, at: offset)
            buffer.put16(UInt16(name.count), at: offset + 2)
            UnsafeMutableRawBufferPointer(rebasing: buffer[(offset + 4)..<(offset + 4 + name.count)])
                .copyMemory(from: UnsafeRawBufferPointer(name))
            for i in name.count..<paddedName { buffer[offset + 4 + i] = 0 }
            offset += 4 + paddedName

            buffer.put16(STUNAttributeType.priority, at: offset)
            buffer.put16(4, at: offset + 2)
            buffer.put32(priority, at: offset + 4)
            offset += 8
            if useCandidate {
                buffer.put16(STUNAttributeType.useCandidate, at: offset)
                buffer.put16(0, at: offset + 2)
                offset += 4
            }
            if let tieBreaker = iceControlling {
                offset = writeUInt64Attribute(STUNAttributeType.iceControlling, tieBreaker, into: buffer, at: offset)
            }
            if let tieBreaker = iceControlled {
                offset = writeUInt64Attribute(STUNAttributeType.iceControlled, tieBreaker, into: buffer, at: offset)
            }
            return finish(buffer, length: offset, integrityKey: integrityKey)
        }
    }

    /// A Binding error response with ERROR-CODE (400 Bad Request, 401 Unauthorized, 420 Unknown
    /// Attribute, 487 Role Conflict...). MESSAGE-INTEGRITY is added only when a key is given: a 401
    /// answers a request whose credentials we could not check, so it cannot carry one.
    public static func writeBindingError(
        transactionID: STUNTransactionID, code: UInt16, reason: String, integrityKey: [UInt8]? = nil,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        guard (300...699).contains(code) else { return 0 }
        var text = reason
        return text.withUTF8 { phrase -> Int in
            let reasonLength = min(phrase.count, 763)
            let valueLength = 4 + reasonLength
            let padded = (valueLength + 3) & ~3
            let total = headerLength + 4 + padded + (integrityKey == nil ? 0 : 24) + 8
            guard buffer.count >= total else { return 0 }
            var offset = writeHeader(.errorResponse, transactionID: transactionID, into: buffer)
            buffer.put16(STUNAttributeType.errorCode, at: offset)
            buffer.put16(UInt16(valueLength), at: offset + 2)
            buffer.put16(0, at: offset + 4)
            buffer.put8(UInt8(code / 100), at: offset + 6)
            buffer.put8(UInt8(code % 100), at: offset + 7)
            UnsafeMutableRawBufferPointer(rebasing: buffer[(offset + 8)..<(offset + 8 + reasonLength)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(phrase)[0..<reasonLength]))
            for i in valueLength..<padded { buffer[offset + 4 + i] = 0 }
            offset += 4 + padded
            return finish(buffer, length: offset, integrityKey: integrityKey)
        }
    }

    // MARK: - Pieces

    private static func writeHeader(_ messageClass: Class, transactionID: STUNTransactionID, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        buffer.put16(messageType(method: bindingMethod, class: messageClass), at: 0)
        buffer.put16(0, at: 2)
        buffer.put32(magicCookie, at: 4)
        transactionID.write(into: buffer, at: 8)
        return headerLength
    }

    private static func writeUInt64Attribute(_ type: UInt16, _ value: UInt64, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        buffer.put16(type, at: offset)
        buffer.put16(8, at: offset + 2)
        buffer.put64(value, at: offset + 4)
        return offset + 12
    }

    /// Appends MESSAGE-INTEGRITY (if keyed) and FINGERPRINT, fixing the header length before each
    /// hash as RFC 5389 sections 15.4 and 15.5 prescribe. The caller has checked the room.
    private static func finish(_ buffer: UnsafeMutableRawBufferPointer, length: Int, integrityKey: [UInt8]?) -> Int {
        var offset = length
        if let key = integrityKey {
            buffer.put16(UInt16(offset + 24 - headerLength), at: 2)
            var digest = STUNDigest()
            guard digest.compute(key: key, over: UnsafeRawBufferPointer(rebasing: buffer[0..<offset])) else { return 0 }
            buffer.put16(STUNAttributeType.messageIntegrity, at: offset)
            buffer.put16(20, at: offset + 2)
            digest.write(into: buffer, at: offset + 4)
            offset += 24
        }
        buffer.put16(UInt16(offset + 8 - headerLength), at: 2)
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<offset])) ^ fingerprintXOR
        buffer.put16(STUNAttributeType.fingerprint, at: offset)
        buffer.put16(4, at: offset + 2)
        buffer.put32(crc, at: offset + 4)
        return offset + 8
    }
}
