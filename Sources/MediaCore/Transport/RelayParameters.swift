/// What the control plane asks for when it opens a relay between two nodes of a cluster (mediasoup's
/// PipeTransport, Jitsi's Octo): plain SRTP over UDP between the two nodes' media ports, with keys the nodes agreed
/// on over their signed control request instead of ICE and DTLS. The node holding a room sends each relayed
/// producer once to every other node with viewers of it; there the producers are added to the relay as if a
/// publisher sent them.
public struct RelayParameters: Sendable {
    public var room: String
    /// Free text for logs: "relay to https://sabha-2".
    public var label: String
    /// The other node's media address (its worker's UDP port for this room).
    public var remoteIP: String
    public var remotePort: UInt16
    /// `local*` protects what this node sends, `remote*` opens what the other node sends; the other node holds
    /// the same keys mirrored.
    public var keys: SRTPKeyingMaterial
    /// The SSRC this node's RTCP goes out with (keyframe requests, reports); the other node lists it in its
    /// `inboundSSRCs`.
    public var rtcpSSRC: UInt32
    /// SSRCs the other node sends with: its RTCP SSRC, and (added later with `addProducer`) its relayed streams.
    /// A datagram from `remoteIP:remotePort` is taken for this relay by its (first) SSRC.
    public var inboundSSRCs: [UInt32]
    /// The sending node opens its end before the other node has one: it sends nothing (and takes nothing) until
    /// `MediaEngine.startRelay`, so the first packets do not reach a node that cannot place them yet.
    public var waitsForStart: Bool

    public init(room: String, label: String, remoteIP: String, remotePort: UInt16, keys: SRTPKeyingMaterial,
                rtcpSSRC: UInt32, inboundSSRCs: [UInt32], waitsForStart: Bool = false) {
        self.waitsForStart = waitsForStart
        self.room = room
        self.label = label
        self.remoteIP = remoteIP
        self.remotePort = remotePort
        self.keys = keys
        self.rtcpSSRC = rtcpSSRC
        self.inboundSSRCs = inboundSSRCs
    }
}
