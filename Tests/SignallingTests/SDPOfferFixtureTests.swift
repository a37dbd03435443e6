import Foundation
import Testing
@testable import Signalling
import MediaCore

/// What each real offer must parse into (values read off the fixture files).
struct SDPOfferFixtureTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        var fixture: String
        var audioPT: UInt8
        var videoPT: UInt8
        var audioSSRCs: [UInt32]
        var videoSSRCs: [UInt32]
        var audioExtensions: (mid: UInt8, audioLevel: UInt8)
        var videoExtensions: (mid: UInt8, rid: UInt8, repairedRid: UInt8)
        var offeredVideo: (absSendTime: UInt8, transportWideCC: UInt8)
        var ufrag: String
        var fingerprintAlgorithms: [String]
        var fingerprintPrefix: String
        var videoFeedback: [String]
        var videoRTX: UInt8
        var rids: [String] = []
        var testDescription: String { fixture }
    }

    static let expectations: [Expected] = [
        Expected(fixture: "chromium156-sendonly-offer", audioPT: 111, videoPT: 96,
                 audioSSRCs: [2762058622], videoSSRCs: [1162894474],
                 audioExtensions: (4, 1), videoExtensions: (4, 10, 11), offeredVideo: (2, 3),
                 ufrag: "+hpE", fingerprintAlgorithms: ["sha-256"], fingerprintPrefix: "0E:16:B7",
                 videoFeedback: ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"], videoRTX: 97),
        Expected(fixture: "chromium156-simulcast-offer", audioPT: 111, videoPT: 96,
                 audioSSRCs: [3727418572], videoSSRCs: [],
                 audioExtensions: (4, 1), videoExtensions: (4, 10, 11), offeredVideo: (2, 3),
                 ufrag: "MUX3", fingerprintAlgorithms: ["sha-256"], fingerprintPrefix: "3D:91:19",
                 videoFeedback: ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"], videoRTX: 97, rids: ["q", "h", "f"]),
        Expected(fixture: "firefox153-sendonly-offer", audioPT: 109, videoPT: 120,
                 audioSSRCs: [2318443113], videoSSRCs: [3575450728],
                 audioExtensions: (3, 1), videoExtensions: (3, 0, 0), offeredVideo: (4, 7),
                 ufrag: "592c90c2", fingerprintAlgorithms: ["sha-256"], fingerprintPrefix: "FF:2A:2C",
                 videoFeedback: ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"], videoRTX: 124),
        Expected(fixture: "firefox153-simulcast-offer", audioPT: 109, videoPT: 120,
                 audioSSRCs: [2206501867], videoSSRCs: [3943639865, 1020102000, 2159522366],
                 audioExtensions: (3, 1), videoExtensions: (3, 9, 10), offeredVideo: (4, 7),
                 ufrag: "13aa15b6", fingerprintAlgorithms: ["sha-256"], fingerprintPrefix: "7F:8C:90",
                 videoFeedback: ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"], videoRTX: 124, rids: ["q", "h", "f"]),
        Expected(fixture: "aiortc-sendonly-offer", audioPT: 96, videoPT: 97,
                 audioSSRCs: [2306761518], videoSSRCs: [1312304096],
                 audioExtensions: (1, 2), videoExtensions: (1, 0, 0), offeredVideo: (3, 0),
                 ufrag: "yQtl", fingerprintAlgorithms: ["sha-256", "sha-384", "sha-512"], fingerprintPrefix: "2C:45:57",
                 videoFeedback: ["nack", "nack pli", "goog-remb"], videoRTX: 98),
        // Subscribe offers: only mid (and transport-wide-cc) is echoed.
        Expected(fixture: "chromium156-recvonly-offer", audioPT: 111, videoPT: 96,
                 audioSSRCs: [], videoSSRCs: [],
                 audioExtensions: (4, 0), videoExtensions: (4, 0, 0), offeredVideo: (2, 3),
                 ufrag: "gSpV", fingerprintAlgorithms: ["sha-256"], fingerprintPrefix: "6F:4B:DF",
                 videoFeedback: ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"], videoRTX: 97),
        Expected(fixture: "firefox153-recvonly-offer", audioPT: 109, videoPT: 120,
                 audioSSRCs: [3174976714], videoSSRCs: [2131861051],
                 audioExtensions: (3, 0), videoExtensions: (3, 0, 0), offeredVideo: (4, 7),
                 ufrag: "b727d42e", fingerprintAlgorithms: ["sha-256"], fingerprintPrefix: "F5:B0:ED",
                 videoFeedback: ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"], videoRTX: 124),
        Expected(fixture: "aiortc-recvonly-offer", audioPT: 96, videoPT: 97,
                 audioSSRCs: [4216055987], videoSSRCs: [1259888924],
                 audioExtensions: (1, 0), videoExtensions: (1, 0, 0), offeredVideo: (3, 0),
                 ufrag: "dnSo", fingerprintAlgorithms: ["sha-256", "sha-384", "sha-512"], fingerprintPrefix: "FD:82:FE",
                 videoFeedback: ["nack", "nack pli", "goog-remb"], videoRTX: 98),
    ]

    @Test(arguments: expectations)
    func realOfferParsesForItsIntent(_ expected: Expected) throws {
        let intent = SDPFixtures.intent(of: expected.fixture)
        let offer = try SDPOffer(parsing: SDPFixtures.load(expected.fixture), intent: intent)

        #expect(offer.intent == intent)
        #expect(offer.iceUfrag == expected.ufrag)
        #expect(offer.icePassword.count >= 22)
        #expect(offer.fingerprints.map(\.algorithm) == expected.fingerprintAlgorithms)
        #expect(offer.fingerprints.first?.value.hasPrefix(expected.fingerprintPrefix) == true)
        #expect(offer.bundle == ["0", "1"])
        try #require(offer.media.count == 2)

        let audio = offer.media[0]
        #expect(audio.mid == "0")
        #expect(audio.kind == .audio)
        #expect(audio.accepted)
        #expect(audio.rejectionReason == nil)
        #expect(audio.payloadType == expected.audioPT)
        #expect(audio.codecName == "opus")
        #expect(audio.clockRate == 48000)
        #expect(audio.ssrcs == expected.audioSSRCs)
        #expect(audio.extensions.mid == expected.audioExtensions.mid)
        #expect(audio.extensions.audioLevel == expected.audioExtensions.audioLevel)
        #expect(audio.extensions.absSendTime == 0)
        #expect(audio.extensions.transportWideCC == audio.offeredExtensions.transportWideCC)
        let audioCC = audio.offeredExtensions.transportWideCC != 0
        #expect(audio.rtcpFeedback == (audioCC ? ["transport-cc"] : []))
        #expect(audio.feedback == (audioCC ? [.transportCC] : []))
        #expect(audio.rtxPayloadType == 0 && audio.encodings.isEmpty && audio.simulcastRIDs.isEmpty)

        let video = offer.media[1]
        #expect(video.mid == "1")
        #expect(video.kind == .video)
        #expect(video.accepted)
        #expect(video.payloadType == expected.videoPT)
        #expect(video.codecName == "VP8")
        #expect(video.clockRate == 90000)
        #expect(video.ssrcs == expected.videoSSRCs)
        #expect(video.extensions.mid == expected.videoExtensions.mid)
        #expect(video.extensions.rid == expected.videoExtensions.rid)
        #expect(video.extensions.repairedRid == expected.videoExtensions.repairedRid)
        #expect(video.extensions.audioLevel == 0)
        #expect(video.extensions.absSendTime == 0)
        #expect(video.extensions.transportWideCC == expected.offeredVideo.transportWideCC)
        #expect(video.offeredExtensions.absSendTime == expected.offeredVideo.absSendTime)
        #expect(video.offeredExtensions.transportWideCC == expected.offeredVideo.transportWideCC)
        #expect(video.rtcpFeedback == expected.videoFeedback)
        #expect(video.feedback.contains([.nack, .pli]))
        #expect(video.feedback.contains(.transportCC) == expected.videoFeedback.contains("transport-cc"))
        #expect(video.feedback.contains(.remb) && video.feedback.contains(.fir) == expected.videoFeedback.contains("ccm fir"))
        #expect(video.rtxPayloadType == expected.videoRTX)
        if intent == .publish {
            #expect(video.simulcastRIDs == expected.rids)
            #expect(video.encodings.map(\.rid) == expected.rids)
        } else {
            #expect(video.simulcastRIDs.isEmpty && video.encodings.isEmpty)
        }
        #expect(video.rids.map(\.id) == expected.rids)
        if expected.rids.isEmpty {
            #expect(video.simulcast == nil)
        } else {
            #expect(video.rids.allSatisfy { $0.direction == .send })
            #expect(video.simulcast?.send.map { $0.map(\.rid) } == expected.rids.map { [$0] })
            #expect(video.simulcast?.recv.isEmpty == true)
        }
    }

    @Test(arguments: SDPFixtures.publishOffers)
    func sendOnlyOfferIsRefusedForPlayback(_ fixture: String) {
        let error = SDPFixtures.offerError(SDPFixtures.load(fixture), .subscribe)
        #expect(error?.code == .noUsableMedia)
        #expect(error?.reason.contains("sendonly") == true)
        #expect(error?.reason.contains("WHEP") == true)
    }

    @Test(arguments: SDPFixtures.subscribeOffers)
    func receiveOnlyOfferIsRefusedForPublishing(_ fixture: String) {
        let error = SDPFixtures.offerError(SDPFixtures.load(fixture), .publish)
        #expect(error?.code == .noUsableMedia)
        #expect(error?.reason.contains("recvonly") == true)
        #expect(error?.reason.contains("WHIP") == true)
    }

    @Test func publishMediaKeepsOffererMSIDAndOpusParameters() throws {
        let offer = try SDPOffer(parsing: SDPFixtures.load("chromium156-sendonly-offer"), intent: .publish)
        #expect(offer.media[0].codecParameters == "minptime=10;useinbandfec=1")
        #expect(offer.media[0].mediaStreamID == SDPMediaStreamID(streamID: "aa6834f8-4451-4733-8334-9f4aa5801a34", trackID: "63c01d57-6dd6-4ef4-bf39-480f32fe1d74"))
        #expect(offer.media[0].reducedSizeRTCP)
        #expect(offer.media[0].direction == .sendonly)
    }

    @Test func firefoxSessionLevelSendrecvIsOverriddenByMediaDirection() throws {
        let offer = try SDPOffer(parsing: SDPFixtures.load("firefox153-sendonly-offer"), intent: .publish)
        #expect(offer.media.map(\.direction) == [.sendonly, .sendonly])
        // a=extmap:2/recvonly csrc-audio-level is neither understood nor echoed.
        #expect(offer.media[0].extmaps.first { $0.id == 2 }?.direction == .recvonly)
    }

    @Test func lineFeedOnlyOfferParsesLikeCRLF() throws {
        let crlf = SDPFixtures.load("chromium156-sendonly-offer")
        let lf = crlf.replacingOccurrences(of: "\r\n", with: "\n")
        let a = try SDPOffer(parsing: crlf, intent: .publish)
        let b = try SDPOffer(parsing: lf, intent: .publish)
        #expect(a.media.map(\.payloadType) == b.media.map(\.payloadType))
        #expect(a.media.map(\.ssrcs) == b.media.map(\.ssrcs))
        #expect(a.iceUfrag == b.iceUfrag && a.icePassword == b.icePassword)
    }
}
