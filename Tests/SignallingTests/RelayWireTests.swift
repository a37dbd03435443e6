import Foundation
import MediaCore
import Testing
@testable import Signalling

/// A relayed track as the origin describes it becomes, on the edge, a producer bound by the relay's SSRCs with the
/// publisher's codec and header extensions, asking for keyframes and retransmissions but not for transport-cc.
struct RelayWireTests {
    @Test func aSimulcastTrackBecomesAProducerWithOneEncodingPerLayerUnderTheRelaysSSRCs() throws {
        var ids = HeaderExtensionIDs()
        ids.mid = 1; ids.rid = 10; ids.repairedRid = 11; ids.transportWideCC = 3; ids.absSendTime = 2
        let publisher = ProducerParameters(kind: .video, mid: "1", ssrcs: [], payloadType: 96, clockRate: 90_000, extensions: ids,
                                           encodings: [ProducerEncoding(rid: "q"), ProducerEncoding(rid: "h"), ProducerEncoding(rid: "f")],
                                           rtxPayloadType: 97, feedback: [.nack, .pli, .transportCC])
        let track = RelayWire.Track(publisher, ssrcs: [11, 22, 33])
        let decoded = try JSONDecoder().decode(RelayWire.Track.self, from: JSONEncoder().encode(track))
        let edge = try #require(decoded.producerParameters)
        #expect(edge.kind == .video && edge.mid == "1" && edge.payloadType == 96 && edge.clockRate == 90_000)
        #expect(edge.encodings == [ProducerEncoding(rid: "q", ssrc: 11), ProducerEncoding(rid: "h", ssrc: 22), ProducerEncoding(rid: "f", ssrc: 33)])
        #expect(edge.ssrcs.isEmpty && edge.rtxPayloadType == 0)
        #expect(edge.extensions.rid == 10 && edge.extensions.mid == 1 && edge.extensions.absSendTime == 2)
        #expect(edge.extensions.transportWideCC == 0, "no transport-cc feedback across the relay")
        #expect(edge.feedback.contains(.nack) && edge.feedback.contains(.pli) && !edge.feedback.contains(.transportCC))
    }

    @Test func aSingleStreamIsBoundByItsOneSSRC() throws {
        var ids = HeaderExtensionIDs()
        ids.audioLevel = 4
        let track = RelayWire.Track(ProducerParameters(kind: .audio, mid: "0", ssrcs: [5], payloadType: 111, clockRate: 48_000,
                                                       extensions: ids), ssrcs: [77])
        let edge = try #require(track.producerParameters)
        #expect(edge.ssrcs == [77] && edge.encodings.isEmpty && edge.extensions.audioLevel == 4)
    }

    @Test func aMalformedTrackIsRefusedNotGuessed() throws {
        let json = #"{"kind":"%@","mid":"0","payloadType":96,"clockRate":90000,"extensions":{},"rids":%@,"ssrcs":%@}"#
        for (kind, rids, ssrcs) in [("video", "[]", "[]"), ("text", "[]", "[1]"), ("video", #"["q","h"]"#, "[1,2,3]"),
                                    ("video", "[]", "[1,2,3,4]")] {
            let text = String(format: json, kind, rids, ssrcs)
            let track = try JSONDecoder().decode(RelayWire.Track.self, from: Data(text.utf8))
            #expect(track.producerParameters == nil, "\(text)")
        }
    }
}
