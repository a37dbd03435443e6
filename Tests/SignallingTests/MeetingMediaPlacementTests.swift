import Foundation
import Logging
import MediaCore
import Testing
@testable import Signalling

/// `--max-viewers` for a meeting's viewers on a server alone (in a cluster the next viewer's media goes to another
/// node: Tests/e2e/test_meeting_cascade.py), and the calls a holder makes to the node serving a viewer's media, as
/// they cross the wire.
@Suite struct MeetingMediaPlacementTests {
    typealias Hub = MeetingHubMediaTests

    @Test func aViewerBeyondALoneServersLimitStaysInTheMeetingWithoutMediaUntilOneLeaves() async throws {
        try await Hub.withHub { hub in
            await hub.setMediaPlacement(NodeCapacity(maxViewers: 1, placement: nil, viewers: { await hub.localViewerMedia() }), remote: nil, relays: nil)
            let host = await Hub.join(hub, "host", role: .host)
            _ = try Hub.answer(await hub.offer(from: host.id, sdp: SDPFixtures.load("chromium156-simulcast-offer")))
            let first = await Hub.join(hub, "v1", role: .viewer)
            _ = try Hub.answer(await hub.offer(from: first.id, sdp: SDPFixtures.load("chromium156-recvonly-offer")))
            let second = await Hub.join(hub, "v2", role: .viewer)
            let refused = await hub.offer(from: second.id, sdp: SDPFixtures.load("chromium156-recvonly-offer"))
            #expect(refused.count == 1 && refused[0].contains("\"server-full\"") && !refused[0].contains("\"fatal\":true"))
            #expect(await hub.localViewerMedia() == 1)
            // Publishers are not viewers: they are never refused for it.
            let speaker = await Hub.join(hub, "speaker")
            _ = try Hub.answer(await hub.offer(from: speaker.id, sdp: SDPFixtures.load("chromium156-simulcast-offer")))
            await hub.leave(first.id, reason: .left)
            _ = try Hub.answer(await hub.offer(from: second.id, sdp: SDPFixtures.load("chromium156-recvonly-offer")))
            #expect(await hub.localViewerMedia() == 1)
        }
    }

    @Test func theEdgesTransportReachesTheViewersAnswerUnchanged() throws {
        let description = TransportDescription(
            id: TransportID(42), localUfrag: "abcd", localPassword: "0123456789abcdefghijkl",
            fingerprint: DTLSFingerprint(algorithm: "sha-256", value: "AB:CD"), candidateIP: "10.0.0.2", candidatePort: 40_002,
            candidates: ICECandidate.hostCandidates(addresses: ["10.0.0.2", "fd00::2"], port: 40_002, tcp: true))
        let wire = try JSONDecoder().decode(MeetingMediaWire.Transport.self, from: JSONEncoder().encode(MeetingMediaWire.Transport(description)))
        let back = wire.description
        #expect(back.id == description.id && back.localUfrag == "abcd" && back.localPassword == description.localPassword)
        #expect(back.fingerprint == description.fingerprint)
        #expect(back.candidateIP == "10.0.0.2" && back.candidatePort == 40_002)
        #expect(back.candidates == description.candidates)
    }

    @Test func aConsumerKeepsTheViewersNegotiatedIdsAndFeedbackOnTheEdge() throws {
        var ids = HeaderExtensionIDs()
        ids.mid = 1; ids.absSendTime = 2; ids.transportWideCC = 3; ids.audioLevel = 0
        let parameters = ConsumerParameters(producer: ProducerID(7), mid: "4", ssrc: 1111, payloadType: 96, extensions: ids,
                                            rtxPayloadType: 97, rtxSSRC: 2222, feedback: [.nack, .pli, .transportCC], source: .screen)
        let request = MeetingMediaWire.ConsumerRequest(parameters, publisher: "p-1", track: "t-2", kind: .video)
        let decoded = try JSONDecoder().decode(MeetingMediaWire.ConsumerRequest.self, from: JSONEncoder().encode(request))
        #expect(decoded.publisher == "p-1" && decoded.track == "t-2" && decoded.kind == "video")
        let edge = decoded.parameters(producer: ProducerID(99))
        #expect(edge.producer == ProducerID(99), "the edge's own copy of the track")
        #expect(edge.mid == "4" && edge.ssrc == 1111 && edge.payloadType == 96 && edge.rtxPayloadType == 97 && edge.rtxSSRC == 2222)
        #expect(edge.extensions == ids && edge.feedback == [.nack, .pli, .transportCC] && edge.source == .screen)
    }

    @Test func aSimulcastTrackPublishedOnTheEdgeKeepsItsLayersAndIdsAndAnUnknownKindIsRefused() throws {
        var ids = HeaderExtensionIDs()
        ids.mid = 1; ids.rid = 10; ids.repairedRid = 11; ids.transportWideCC = 3
        let camera = ProducerParameters(kind: .video, mid: "1", ssrcs: [], payloadType: 96, clockRate: 90_000, extensions: ids,
                                        encodings: [ProducerEncoding(rid: "q"), ProducerEncoding(rid: "h", ssrc: 22, rtxSSRC: 23),
                                                    ProducerEncoding(rid: "f")],
                                        rtxPayloadType: 97, feedback: [.nack, .pli, .transportCC])
        let request = MeetingMediaWire.ProducerRequest(camera, track: "t-9")
        let decoded = try JSONDecoder().decode(MeetingMediaWire.ProducerRequest.self, from: JSONEncoder().encode(request))
        #expect(decoded.track == "t-9")
        let edge = try #require(decoded.parameters)
        #expect(edge.kind == .video && edge.mid == "1" && edge.payloadType == 96 && edge.clockRate == 90_000 && edge.rtxPayloadType == 97)
        #expect(edge.encodings == camera.encodings && edge.ssrcs.isEmpty && edge.extensions == ids)
        #expect(edge.feedback == [.nack, .pli, .transportCC], "the publisher's transport-cc is answered by the node it sends to")
        var text = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"video\"", with: "\"text\"")
        #expect(try JSONDecoder().decode(MeetingMediaWire.ProducerRequest.self, from: Data(text.utf8)).parameters == nil)
    }
}
