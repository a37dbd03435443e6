/// Media direction attributes (RFC 8866 §6.7), seen from the side that wrote them.
public enum SDPDirection: String, Sendable, Hashable, CaseIterable {
    case sendrecv
    case sendonly
    case recvonly
    case inactive

    /// The writer of this direction sends media.
    public var sends: Bool { self == .sendrecv || self == .sendonly }
    /// The writer of this direction receives media.
    public var receives: Bool { self == .sendrecv || self == .recvonly }

    /// The same flow seen from the other side: sendonly ↔ recvonly.
    public var reversed: SDPDirection {
        switch self {
        case .sendonly: return .recvonly
        case .recvonly: return .sendonly
        case .sendrecv, .inactive: return self
        }
    }
}
