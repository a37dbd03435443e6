import Foundation
import Testing
@testable import Signalling
import MediaCore

/// Firefox ESR 153's offers as Sabha's own pages make them, captured with a default route in the namespace (so
/// with candidates): the WHIP demo publisher (`firefox153-whip-simulcast-offer`) and the meeting page once a
/// second participant is there (`firefox153-meeting-offer`: own audio and simulcast camera, then recvonly audio and
/// video for the other). Unlike the candidate-less captures, every m-line but the first has port 0 and
/// `a=bundle-only` (max-bundle), candidates are mDNS `.local` names, and rtcp component 2 is gathered too.
struct SDPFirefoxOfferTests {
    static func values(_ section: SDPMediaSection, _ name: String) -> [String] {
        section.attributes.named(name).map { $0.value ?? "" }
    }

    @Test func whipSimulcastOfferWithBundleOnlyVideoPublishesQHF() throws {
        let text = SDPFixtures.load("firefox153-whip-simulcast-offer")
        #expect(text.contains("m=video 0 UDP/TLS/RTP/SAVPF") && text.contains("a=bundle-only"))
        let offer = try SDPOffer(parsing: text, intent: .publish)
        #expect(offer.bundle == ["0", "1"])
        #expect(offer.iceUfrag == "1d7f1fef")
        #expect(offer.fingerprints.map(\.algorithm) == ["sha-256"])
        #expect(offer.fingerprints.first?.value.hasPrefix("FE:7B:17") == true)
        try #require(offer.media.count == 2)
        let audio = offer.media[0], video = offer.media[1]
        #expect(audio.accepted && audio.payloadType == 109 && audio.direction == .sendonly)
        #expect(audio.extensions.mid == 3 && audio.extensions.audioLevel == 1 && audio.extensions.transportWideCC == 7)

        // Port 0 with a=bundle-only is a bundled m-line, not a refused one.
        #expect(video.accepted && video.rejectionReason == nil)
        #expect(video.direction == .sendonly)
        #expect(video.payloadType == 120 && video.codecName == "VP8" && video.rtxPayloadType == 124)
        #expect(video.extensions.mid == 3 && video.extensions.rid == 9 && video.extensions.repairedRid == 10)
        #expect(video.extensions.transportWideCC == 7 && video.offeredExtensions.absSendTime == 4)
        #expect(video.simulcastRIDs == ["q", "h", "f"])
        #expect(video.encodings.map(\.rid) == ["q", "h", "f"])
        // The SSRCs come as FID pairs without a=ssrc-group:SIM: the RID extension binds each to its layer.
        #expect(video.encodings.allSatisfy { $0.ssrc == nil && $0.rtxSSRC == nil })
        #expect(video.ssrcs == [229994013, 1771819692, 3188612319])
        #expect(video.feedback == [.nack, .pli, .fir, .remb, .transportCC])

        let answer = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: [:]))
        #expect(answer.media.map(\.port) == [40000, 40000])
        #expect(answer.media[1].formats == ["120", "124"])
        #expect(Self.values(answer.media[1], "rid") == ["q recv", "h recv", "f recv"])
        #expect(Self.values(answer.media[1], "simulcast") == ["recv q;h;f"])
        // Firefox's a=extmap:9/sendonly rid and 10/sendonly repaired-rid come back as recvonly (RFC 8285).
        #expect(Self.values(answer.media[1], "extmap").contains("9/recvonly urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"))
        #expect(Self.values(answer.media[1], "extmap").contains("10/recvonly urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"))
    }

    @Test func meetingOfferPublishesOnTheFirstTwoAndReceivesOnTheOthers() throws {
        let offer = try SDPOffer(parsing: SDPFixtures.load("firefox153-meeting-offer"), intent: .meeting)
        #expect(offer.bundle == ["0", "1", "2", "3"])
        try #require(offer.media.count == 4)
        #expect(offer.media.map(\.mid) == ["0", "1", "2", "3"])
        #expect(offer.media.map(\.kind) == [.audio, .video, .audio, .video])
        #expect(offer.media.map(\.direction) == [.sendonly, .sendonly, .recvonly, .recvonly])
        #expect(offer.media.allSatisfy { $0.accepted })
        let camera = offer.media[1]
        #expect(camera.simulcastRIDs == ["q", "h", "f"])
        #expect(camera.encodings.map(\.rid) == ["q", "h", "f"])
        #expect(camera.extensions.rid == 9 && camera.extensions.repairedRid == 10)
        let receiving = offer.media[3]
        #expect(receiving.simulcastRIDs.isEmpty && receiving.encodings.isEmpty)
        #expect(receiving.payloadType == 120 && receiving.rtxPayloadType == 124)

        let track = OutgoingTrack(ssrc: 1234, cname: "p-other", streamID: "p-other", trackID: "t-1")
        let answer = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: ["3": track]))
        #expect(answer.media.count == 4)
        #expect(Self.values(answer.media[1], "simulcast") == ["recv q;h;f"])
        #expect(answer.media[1].attributes.contains(named: "recvonly"))
        #expect(answer.media[3].attributes.contains(named: "sendonly"))
        #expect(Self.values(answer.media[3], "msid") == ["p-other t-1"])
        #expect(answer.media[2].attributes.contains(named: "inactive"))
    }
}
