import MediaCore

/// One WHIP (publish) or WHEP (watch) session: a WebRTC transport and what it carries.
public struct MediaSession: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case whip
        case whep
    }

    public var id: String
    public var kind: Kind
    public var room: String
    /// Who opened it (the token's subject).
    public var identity: String
    public var transport: TransportID
    /// WHIP: the streams published, by kind.
    public var producers: [(kind: MediaKind, id: ProducerID)]
    /// WHEP: the publisher session being watched.
    public var watching: String?
    /// The id (`jti`) of the token that opened it: a withdrawn link ends its sessions.
    public var tokenID: String? = nil
    /// Which token's allowance of sessions it uses (`SessionRegistry.reserve`); nil when it uses none.
    public var tokenKey: String? = nil

    /// The resource URL path (the WHIP/WHEP `Location`).
    public var location: String {
        switch kind {
        case .whip: return "/whip/\(Self.escape(room))/\(id)"
        case .whep: return "/whep/\(Self.escape(room))/\(Self.escape(watchingIdentity ?? ""))/\(id)"
        }
    }

    /// WHEP: identity of the publisher being watched.
    public var watchingIdentity: String?
    /// In a cluster, the node holding the room when this session stands for (WHIP) or watches (WHEP) a publisher
    /// relayed from there (`CascadeRelays`): it keeps no room lease here and is not counted as a publisher.
    public var relayedFrom: String? = nil

    static func escape(_ s: String) -> String {
        s.addingPercentEncodingForPath()
    }
}

extension String {
    /// Percent-encodes everything except RFC 3986 unreserved characters.
    func addingPercentEncodingForPath() -> String {
        var out = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
            }
        }
        return out
    }
}
