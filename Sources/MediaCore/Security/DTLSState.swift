/// Which side of the DTLS handshake we take (RFC 5763 section 5: a=setup).
public enum DTLSRole: Sendable, Hashable {
    /// We answered a=setup:passive: the peer sends the ClientHello.
    case server
    /// We answered a=setup:active: we send the ClientHello.
    case client
}

/// Where a DTLS association stands.
public enum DTLSState: Sendable, Hashable {
    case handshaking
    /// Handshake done and the peer's fingerprint matched the SDP: SRTP keys can be exported.
    case connected
    /// Handshake error, fatal alert, too many retransmissions or a fingerprint mismatch;
    /// the association is unusable.
    case failed(String)
    /// close_notify sent or received.
    case closed
}
