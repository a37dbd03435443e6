@testable import MediaCore

/// STUN (RFC 5389/8489) as the ICE-lite agent reads it: parse, MESSAGE-INTEGRITY and FINGERPRINT
/// checks, then the writers for what parsed (binding request, success and error), whose output must
/// parse to the same fields and pass both checks.
enum STUNFuzz {
    static let name = "stun"
    static let key = Array("fuzz-ice-password-0123".utf8)

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        _ = STUNMessage.looksLikeSTUN(data)
        guard let message = STUNMessage.parse(data) else { return }
        try check(message.length == data.count, name, "length \(message.length) != \(data.count)")
        _ = message.verifyMessageIntegrity(in: data, key: key)
        _ = message.verifyFingerprint(in: data)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
        defer { out.deallocate() }

        if message.messageClass == .request, let username = message.username, username.utf8.count <= 763 {
            let length = STUNMessage.writeBindingRequest(
                transactionID: message.transactionID, username: username, integrityKey: key, priority: message.priority ?? 0,
                useCandidate: message.useCandidate, iceControlling: message.iceControlling, iceControlled: message.iceControlled, into: out)
            let again = try reparse(out, length)
            try check(again.isBindingRequest && again.username == username && again.priority == (message.priority ?? 0)
                      && again.useCandidate == message.useCandidate && again.iceControlling == message.iceControlling
                      && again.iceControlled == message.iceControlled, name, "binding request changed on write-back")
        }
        if let address = message.xorMappedAddress {
            let length = STUNMessage.writeBindingSuccess(transactionID: message.transactionID, mappedAddress: address, integrityKey: key, into: out)
            let again = try reparse(out, length)
            try check(again.messageClass == .successResponse && again.xorMappedAddress == address, name, "XOR-MAPPED-ADDRESS changed on write-back")
        }
        if let error = message.errorCode, (300...699).contains(error.code) {
            let length = STUNMessage.writeBindingError(transactionID: message.transactionID, code: error.code, reason: error.reason,
                                                       integrityKey: key, into: out)
            let again = try reparse(out, length)
            try check(again.errorCode?.code == error.code, name, "ERROR-CODE changed on write-back")
        }
    }

    private static func reparse(_ out: UnsafeMutableRawBufferPointer, _ length: Int) throws(FuzzFailure) -> STUNMessage {
        try check(length > 0, name, "writer refused a message that parsed")
        let written = UnsafeRawBufferPointer(rebasing: out[0..<length])
        guard let again = STUNMessage.parse(written) else { throw FuzzFailure(name, "written message does not parse") }
        try check(again.verifyMessageIntegrity(in: written, key: key), name, "written MESSAGE-INTEGRITY does not verify")
        try check(again.verifyFingerprint(in: written), name, "written FINGERPRINT does not verify")
        return again
    }
}
