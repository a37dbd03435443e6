import Foundation
import MediaCore

/// What two nodes say to each other to open a relay (`POST /cluster/relays` on the node holding the room), as JSON.
/// The node that wants the relay (the edge, where viewers are) chooses both directions' keys and its RTCP SSRC; the
/// holder (the origin) answers with its media address, its RTCP SSRC and each relayed track: its parameters and the
/// SSRCs its layers come with over this relay.
public enum RelayWire {
    public struct Request: Codable, Sendable {
        public var room: String
        /// The identity of the WHIP publisher to relay, or the meeting participant publishing `track`.
        public var publisher: String
        /// One track of a meeting (its id in the meeting protocol); nil: every track of a WHIP publisher.
        public var track: String?
        /// The edge node's public URL (its id in the cluster).
        public var edge: String
        /// Where the origin sends: the edge's media address for this room.
        public var ip: String
        public var port: UInt16
        public var profile: String
        /// Master key and salt, concatenated: what the origin sends with, and what the edge sends with.
        public var toEdge: Data
        public var toOrigin: Data
        public var edgeRTCPSSRC: UInt32
    }

    public struct Answer: Codable, Sendable {
        /// The relay's id on the origin (`GET`/`DELETE /cluster/relays/{id}`).
        public var id: String
        public var ip: String
        public var port: UInt16
        public var originRTCPSSRC: UInt32
        public var tracks: [Track]
    }

    /// One relayed producer: enough for the edge to add it to its end of the relay as the publisher's stream.
    public struct Track: Codable, Sendable {
        public var kind: String
        public var mid: String
        public var payloadType: UInt8
        public var clockRate: UInt32
        public var extensions: [String: UInt8]
        /// The simulcast layers' RIDs, lowest first (empty: one stream).
        public var rids: [String]
        /// The SSRC of each layer over the relay (one for a single stream).
        public var ssrcs: [UInt32]

        init(_ parameters: ProducerParameters, ssrcs: [UInt32]) {
            kind = parameters.kind.rawValue
            mid = parameters.mid
            payloadType = parameters.payloadType
            clockRate = parameters.clockRate
            extensions = parameters.extensions.named.filter { $0.key != "transportWideCC" }
            rids = parameters.encodings.count > 1 ? parameters.encodings.map(\.rid) : []
            self.ssrcs = ssrcs
        }

        /// The producer the edge adds: the publisher's codec and header extensions (its packets arrive as the
        /// publisher sent them), bound by the relay's SSRCs. The edge NACKs what the relay lost (the origin resends
        /// from its buffers) and asks for keyframes; no transport-cc across the relay (no estimate to make there).
        var producerParameters: ProducerParameters? {
            guard let kind = MediaKind(rawValue: kind), !ssrcs.isEmpty, ssrcs.count <= 3,
                  rids.isEmpty || rids.count == ssrcs.count else { return nil }
            var ids = HeaderExtensionIDs(named: extensions)
            ids.transportWideCC = 0
            let encodings = rids.isEmpty ? [] : zip(rids, ssrcs).map { ProducerEncoding(rid: $0, ssrc: $1) }
            return ProducerParameters(kind: kind, mid: mid, ssrcs: rids.isEmpty ? ssrcs : [], payloadType: payloadType,
                                      clockRate: clockRate, extensions: ids, encodings: encodings, feedback: [.nack, .pli, .fir])
        }
    }

    public struct Status: Codable, Sendable {
        public var id: String
        public var room: String
        public var publisher: String
    }
}
