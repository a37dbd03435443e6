/// ICE-lite (RFC 8445 section 2.5): we never send checks, we answer the peer's. A binding request names our ufrag
/// in USERNAME and is signed with our password (MESSAGE-INTEGRITY, RFC 5389 section 15.4); an authenticated one
/// validates its source address for the transport (at most `maxAddressesPerTransport`), refreshes consent
/// (RFC 7675), and with USE-CANDIDATE (or as the first) selects the address media goes to.
enum ICELiteResponder {
    /// Addresses one transport may validate (we answer checks on all of them).
    static let maxAddressesPerTransport = 8

    enum Verdict {
        /// Answer it: the transport it belongs to, with the source bound and consent refreshed.
        case accepted(WebRTCTransport)
        /// Drop it, counted under this reason.
        case refused(DropReason)
    }

    /// Checks a binding request from `source`.
    static func accept(_ message: STUNMessage, _ bytes: UnsafeRawBufferPointer, from source: TransportAddress,
                       tables: WorkerTables, nowMs: Int64) -> Verdict {
        guard message.messageClass == .request, message.method == STUNMessage.bindingMethod else {
            return .refused(.stunUnexpected)
        }
        guard let username = message.username, let colon = username.firstIndex(of: ":"),
              let transport = tables.transportsByUfrag[String(username[..<colon])] else {
            return .refused(.stunUnknownUser)
        }
        guard message.messageIntegrityOffset != nil,
              message.verifyMessageIntegrity(in: bytes, key: transport.localPasswordKey) else {
            return .refused(.stunBadIntegrity)
        }
        if message.fingerprintOffset != nil && !message.verifyFingerprint(in: bytes) {
            return .refused(.malformed)
        }
        if let owner = tables.transportsByAddress[source] {
            guard owner === transport else { return .refused(.unknownSource) }
        } else {
            guard transport.addresses.count < maxAddressesPerTransport else { return .refused(.unknownSource) }
            tables.bind(source, to: transport)
        }
        transport.lastConsentMs = nowMs
        if message.useCandidate || transport.selected == nil {
            transport.selected = source
        }
        return .accepted(transport)
    }
}
