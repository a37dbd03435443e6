import Foundation
import Testing
@testable import Signalling
import MediaCore

/// Our answers, read back with the generic parser.
struct SDPAnswerTests {
    static let local = SDPFixtures.local

    static func answer(_ fixture: String, sending: [String: OutgoingTrack] = [:]) throws -> (offer: SDPOffer, text: String, parsed: SessionDescription) {
        let offer = try SDPOffer(parsing: SDPFixtures.load(fixture), intent: SDPFixtures.intent(of: fixture))
        let text = offer.answer(local: local, sending: sending)
        return (offer, text, try SessionDescription(parsing: text))
    }

    static func values(_ section: SDPMediaSection, _ name: String) -> [String] {
        section.attributes.named(name).map { $0.value ?? "" }
    }

    @Test(arguments: SDPFixtures.all)
    func answerIsICELitePassiveBundleWithOneCodecPerMLine(_ fixture: String) throws {
        let (offer, text, answer) = try Self.answer(fixture)

        #expect(answer.lines.first == SDPLine(type: "v", value: "0", number: 1))
        #expect(answer.lines.contains { $0.type == "o" && $0.value == "- 42 2 IN IP4 203.0.113.7" })
        #expect(answer.attributes.contains(named: "ice-lite"))
        #expect(answer.attributes.first(named: "group")?.value == "BUNDLE 0 1")
        #expect(text.hasSuffix("\r\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))

        #expect(answer.media.count == offer.media.count)
        for (section, offered) in zip(answer.media, offer.media) {
            #expect(section.media == offered.mediaType)
            #expect(section.port == 40000)
            #expect(section.transportProtocol == "UDP/TLS/RTP/SAVPF")
            #expect(section.formats == [String(offered.payloadType)] + (offered.rtxPayloadType == 0 ? [] : [String(offered.rtxPayloadType)]))
            #expect(section.lines.contains { $0.type == "c" && $0.value == "IN IP4 203.0.113.7" })
            #expect(Self.values(section, "mid") == [offered.mid])
            #expect(Self.values(section, "ice-ufrag") == ["sabha1"])
            #expect(Self.values(section, "ice-pwd") == ["0123456789abcdefghijklmn"])
            #expect(Self.values(section, "fingerprint") == ["sha-256 " + Self.local.fingerprint.value])
            #expect(Self.values(section, "setup") == ["passive"])
            #expect(Self.values(section, "candidate") == ["1 1 udp 2130706431 203.0.113.7 40000 typ host"])
            #expect(section.attributes.contains(named: "end-of-candidates"))
            #expect(section.attributes.contains(named: "rtcp-mux"))
            #expect(section.attributes.contains(named: "rtcp-rsize") == offered.reducedSizeRTCP)

            let rtpmaps = Self.values(section, "rtpmap")
            let rtx = offered.rtxPayloadType
            #expect(rtpmaps == [offered.kind == .audio ? "\(offered.payloadType) opus/48000/2" : "\(offered.payloadType) VP8/90000"]
                + (rtx == 0 ? [] : ["\(rtx) rtx/90000"]))
            if rtx != 0 {
                #expect(Self.values(section, "fmtp").contains("\(rtx) apt=\(offered.payloadType)"))
            }
            let feedback = Self.values(section, "rtcp-fb")
            let honoured = offered.kind == .audio ? ["transport-cc"] : ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"]
            #expect(feedback == offered.rtcpFeedback.map { "\(offered.payloadType) \($0)" })
            #expect(feedback.allSatisfy { line in honoured.contains { line == "\(offered.payloadType) \($0)" } })
            if offered.kind == .video {
                #expect(!feedback.isEmpty)
            }

            // Only the echoed extensions, with the offerer's ids.
            let extmaps = Self.values(section, "extmap")
            #expect(!extmaps.contains { $0.contains("abs-send-time") })
            #expect(extmaps.contains { $0.contains("transport-wide-cc") } == (offered.extensions.transportWideCC != 0))
            let midExtmap = extmaps.first { $0.hasSuffix(SDPHeaderExtensionURI.mid) }
            #expect(midExtmap?.hasPrefix("\(offered.extensions.mid)") == true)
            switch offer.intent {
            case .publish:
                #expect(section.attributes.contains(named: "recvonly"))
            case .subscribe:
                #expect(section.attributes.contains(named: "inactive"))
                #expect(extmaps.count == (offered.extensions.transportWideCC != 0 ? 2 : 1))
            case .meeting:
                #expect(section.attributes.contains(named: offered.direction.sends ? "recvonly" : "inactive"))
            }
        }
    }

    @Test func opusParametersAreCopiedFromTheOffer() throws {
        let (_, _, answer) = try Self.answer("chromium156-sendonly-offer")
        #expect(Self.values(answer.media[0], "fmtp") == ["111 minptime=10;useinbandfec=1"])
        let (_, _, firefox) = try Self.answer("firefox153-sendonly-offer")
        #expect(Self.values(firefox.media[0], "fmtp") == ["109 maxplaybackrate=48000;stereo=1;useinbandfec=1"])
    }

    @Test func publishAnswerEchoesMidRidAudioLevelAndTransportWideCC() throws {
        let (_, _, answer) = try Self.answer("chromium156-simulcast-offer")
        #expect(Self.values(answer.media[0], "extmap") == [
            "1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            "3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "4 urn:ietf:params:rtp-hdrext:sdes:mid",
        ])
        #expect(Self.values(answer.media[1], "extmap") == [
            "3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "4 urn:ietf:params:rtp-hdrext:sdes:mid", "10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        ])
    }

    @Test func extensionDirectionIsReversedInTheAnswer() throws {
        let (_, _, answer) = try Self.answer("firefox153-simulcast-offer")
        #expect(Self.values(answer.media[1], "extmap") == [
            "3 urn:ietf:params:rtp-hdrext:sdes:mid", "7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "9/recvonly urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "10/recvonly urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        ])
    }

    @Test func subscribeAnswerAnnouncesTheTracksWeSend() throws {
        let video = OutgoingTrack(ssrc: 123456, cname: "sabha", streamID: "room-alice", trackID: "alice-video")
        let (_, _, answer) = try Self.answer("firefox153-recvonly-offer", sending: ["1": video])
        #expect(answer.media[0].attributes.contains(named: "inactive"))
        #expect(!answer.media[0].attributes.contains(named: "ssrc"))
        let section = answer.media[1]
        #expect(section.attributes.contains(named: "sendonly"))
        #expect(Self.values(section, "msid") == ["room-alice alice-video"])
        #expect(Self.values(section, "ssrc") == ["123456 cname:sabha", "123456 msid:room-alice alice-video"])
        #expect(!section.attributes.contains(named: "ssrc-group"))
        #expect(Self.values(section, "extmap") == [
            "3 urn:ietf:params:rtp-hdrext:sdes:mid", "7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        ])
    }

    @Test func rejectedMLinesHavePortZeroAndStayInOrder() throws {
        let sdp = SDPPartialOfferTests.withDataChannel()
            .replacingOccurrences(of: "a=rtpmap:96 VP8/90000", with: "a=rtpmap:96 VP7/90000")
        let offer = try SDPOffer(parsing: sdp, intent: .publish)
        let answer = try SessionDescription(parsing: offer.answer(local: Self.local, sending: [:]))
        #expect(answer.media.map(\.media) == ["audio", "video", "application"])
        #expect(answer.media.map(\.port) == [40000, 0, 0])
        #expect(answer.attributes.first(named: "group")?.value == "BUNDLE 0")
        let video = answer.media[1]
        #expect(video.formats == ["96"])
        #expect(Self.values(video, "mid") == ["1"])
        #expect(video.attributes.map(\.name) == ["mid", "inactive"])
        let data = answer.media[2]
        #expect(data.transportProtocol == "UDP/DTLS/SCTP")
        #expect(data.formats == ["webrtc-datachannel"])
        #expect(data.attributes.map(\.name) == ["mid", "inactive"])
    }

    @Test func answerWithoutOfferedBundleHasNoGroup() throws {
        let sdp = SDPFixtures.load("chromium156-sendonly-offer")
            .removingLines { $0.hasPrefix("a=group:BUNDLE") }
            .replacingOccurrences(of: "m=video 49906", with: "m=video 0")
        let answer = try SessionDescription(parsing: SDPOffer(parsing: sdp, intent: .publish).answer(local: Self.local, sending: [:]))
        #expect(!answer.attributes.contains(named: "group"))
    }

    @Test func ipv6CandidateUsesIP6AddressType() throws {
        var local = Self.local
        local.candidateIP = "2001:db8::7"
        let offer = try SDPOffer(parsing: SDPFixtures.load("aiortc-sendonly-offer"), intent: .publish)
        let answer = try SessionDescription(parsing: offer.answer(local: local, sending: [:]))
        #expect(answer.lines.contains { $0.type == "o" && $0.value == "- 42 2 IN IP6 2001:db8::7" })
        #expect(answer.media.allSatisfy { $0.lines.contains { $0.type == "c" && $0.value == "IN IP6 2001:db8::7" } })
        #expect(Self.values(answer.media[0], "candidate") == ["1 1 udp 2130706431 2001:db8::7 40000 typ host"])
    }

    @Test func everyAnnouncedAddressIsAUDPCandidateAndAPassiveTCPOneBelowAllUDP() throws {
        var local = Self.local
        local.candidates = ICECandidate.hostCandidates(addresses: ["203.0.113.7", "2001:db8::7"], port: 40000, tcp: true)
        let offer = try SDPOffer(parsing: SDPFixtures.load("aiortc-sendonly-offer"), intent: .publish)
        let answer = try SessionDescription(parsing: offer.answer(local: local, sending: [:]))
        #expect(Self.values(answer.media[0], "candidate") == [
            "1 1 udp 2130706431 203.0.113.7 40000 typ host",
            "2 1 udp 2130706175 2001:db8::7 40000 typ host",
            "3 1 tcp 2124414975 203.0.113.7 40000 typ host tcptype passive",
            "4 1 tcp 2124414719 2001:db8::7 40000 typ host tcptype passive",
        ])
        #expect(answer.media[0].lines.contains { $0.type == "c" && $0.value == "IN IP4 203.0.113.7" })
    }
}
