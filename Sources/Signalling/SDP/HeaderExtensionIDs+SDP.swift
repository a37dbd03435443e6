import MediaCore

extension HeaderExtensionIDs {
    /// Every id the offer's a=extmap lines map to a URI we understand; the first mapping of a URI wins.
    init(understanding extmaps: [SDPExtmap]) {
        self.init()
        for extmap in extmaps { map(extmap.uri, to: extmap.id) }
    }

    /// The ids we answer: publish → mid, rid, repairedRid, audioLevel (audio), transport-wide-cc;
    /// subscribe and meeting → mid, transport-wide-cc.
    /// The offerer must send them (publish) or receive them (subscribe), and they must fit a one-byte header.
    init(echoing extmaps: [SDPExtmap], kind: MediaKind, intent: SDPIntent) {
        self.init()
        for extmap in extmaps where extmap.id <= 14 {
            let direction = extmap.direction ?? .sendrecv
            switch intent {
            case .publish:
                guard direction.sends else { continue }
                switch extmap.uri {
                case SDPHeaderExtensionURI.mid, SDPHeaderExtensionURI.rid, SDPHeaderExtensionURI.repairedRid,
                     SDPHeaderExtensionURI.transportWideCC:
                    map(extmap.uri, to: extmap.id)
                case SDPHeaderExtensionURI.audioLevel where kind == .audio:
                    map(extmap.uri, to: extmap.id)
                default:
                    continue
                }
            case .subscribe, .meeting:
                guard direction.receives,
                      extmap.uri == SDPHeaderExtensionURI.mid || extmap.uri == SDPHeaderExtensionURI.transportWideCC else { continue }
                map(extmap.uri, to: extmap.id)
            }
        }
    }

    /// Sets the id of `uri` unless it is set already or we do not know the URI.
    private mutating func map(_ uri: String, to id: UInt8) {
        switch uri {
        case SDPHeaderExtensionURI.mid where mid == 0: mid = id
        case SDPHeaderExtensionURI.rid where rid == 0: rid = id
        case SDPHeaderExtensionURI.repairedRid where repairedRid == 0: repairedRid = id
        case SDPHeaderExtensionURI.audioLevel where audioLevel == 0: audioLevel = id
        case SDPHeaderExtensionURI.absSendTime where absSendTime == 0: absSendTime = id
        case SDPHeaderExtensionURI.transportWideCC where transportWideCC == 0: transportWideCC = id
        default: break
        }
    }
}
