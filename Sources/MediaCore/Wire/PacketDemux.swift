/// What a datagram on the shared media port carries, decided from its first bytes (RFC 7983,
/// RTP/RTCP split by RFC 5761 section 4).
public enum PacketClass: Sendable, Hashable {
    case stun
    case zrtp
    case dtls
    case turnChannel
    case rtp
    case rtcp
    case unknown

    /// Classifies a datagram by its first byte; RTP and RTCP differ in the second byte, where
    /// RTCP packet types 192–223 sit (RTP payload types 64–95 are avoided for that reason).
    @inline(__always)
    public static func classify(_ bytes: UnsafeRawBufferPointer) -> PacketClass {
        guard let first = bytes.first else { return .unknown }
        switch first {
        case 0...3: return .stun
        case 16...19: return .zrtp
        case 20...63: return .dtls
        case 64...79: return .turnChannel
        case 128...191:
            guard bytes.count >= 2 else { return .unknown }
            let second = bytes[1]
            return (192...223).contains(second) ? .rtcp : .rtp
        default: return .unknown
        }
    }
}
