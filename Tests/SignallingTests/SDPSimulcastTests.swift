import Foundation
import Testing
@testable import Signalling
import MediaCore

/// Simulcast (RFC 8853/8851, legacy a=ssrc-group:SIM), RTX (RFC 4588) and transport-cc negotiation.
struct SDPSimulcastTests {
    static let transportCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

    static func values(_ section: SDPMediaSection, _ name: String) -> [String] {
        section.attributes.named(name).map { $0.value ?? "" }
    }

    /// The chromium simulcast offer with its a=rid and a=simulcast lines replaced by `lines`.
    static func chromiumSimulcast(_ lines: [String]) -> String {
        var inserted = false
        return SDPFixtures.load("chromium156-simulcast-offer").editingLines { line in
            guard line.hasPrefix("a=rid:") || line.hasPrefix("a=simulcast:") else { return [line] }
            defer { inserted = true }
            return inserted ? [] : lines
        }
    }

    static func video(_ sdp: String, intent: SDPIntent = .publish) throws -> OfferedMedia {
        let offer = try SDPOffer(parsing: sdp, intent: intent)
        return try #require(offer.media.first { $0.kind == .video })
    }

    @Test func chromiumSimulcastOfferYieldsQHFWithRTXAndTransportCC() throws {
        let offer = try SDPOffer(parsing: SDPFixtures.load("chromium156-simulcast-offer"), intent: .publish)
        let video = offer.media[1]
        #expect(video.encodings == [ProducerEncoding(rid: "q"), ProducerEncoding(rid: "h"), ProducerEncoding(rid: "f")])
        #expect(video.simulcastRIDs == ["q", "h", "f"])
        #expect(video.rtxPayloadType == 97)
        #expect(video.rtxSSRC == nil)
        #expect(video.feedback == [.nack, .pli, .fir, .remb, .transportCC])
        #expect(video.extensions.transportWideCC == 3)
        #expect(offer.media[0].feedback == [.transportCC])
        #expect(offer.media[0].extensions.transportWideCC == 3)

        let answer = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: [:]))
        let section = answer.media[1]
        #expect(section.formats == ["96", "97"])
        #expect(Self.values(section, "rtpmap") == ["96 VP8/90000", "97 rtx/90000"])
        #expect(Self.values(section, "fmtp") == ["97 apt=96"])
        #expect(Self.values(section, "rtcp-fb") == ["96 goog-remb", "96 transport-cc", "96 ccm fir", "96 nack", "96 nack pli"])
        #expect(Self.values(section, "rid") == ["q recv", "h recv", "f recv"])
        #expect(Self.values(section, "simulcast") == ["recv q;h;f"])
        #expect(section.attributes.contains(named: "recvonly"))
        #expect(Self.values(answer.media[0], "rtcp-fb") == ["111 transport-cc"])
        #expect(answer.media[0].formats == ["111"])
    }

    @Test func firefoxSimulcastOfferYieldsQHFWithItsSSRCs() throws {
        let offer = try SDPOffer(parsing: SDPFixtures.load("firefox153-simulcast-offer"), intent: .publish)
        let video = offer.media[1]
        #expect(video.encodings.map(\.rid) == ["q", "h", "f"])
        // Firefox announces its SSRCs without saying which rid each carries: the RID extension binds them.
        #expect(video.encodings.allSatisfy { $0.ssrc == nil && $0.rtxSSRC == nil })
        #expect(video.ssrcs == [3943639865, 1020102000, 2159522366])
        #expect(video.rtxPayloadType == 124)
        #expect(video.feedback == [.nack, .pli, .fir, .remb, .transportCC])

        let answer = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: [:]))
        #expect(answer.media[1].formats == ["120", "124"])
        #expect(Self.values(answer.media[1], "fmtp").contains("124 apt=120"))
        #expect(Self.values(answer.media[1], "rid") == ["q recv", "h recv", "f recv"])
        #expect(Self.values(answer.media[1], "simulcast") == ["recv q;h;f"])
    }

    @Test func meetingIntentNegotiatesSimulcastUnlessTheSenderIsRefused() throws {
        let offer = try SDPOffer(parsing: SDPFixtures.load("chromium156-simulcast-offer"), intent: .meeting)
        #expect(offer.media[1].encodings.map(\.rid) == ["q", "h", "f"])
        let accepted = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: [:]))
        #expect(Self.values(accepted.media[1], "simulcast") == ["recv q;h;f"])
        let refused = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: [:], refused: ["0", "1"]))
        #expect(refused.media[1].attributes.contains(named: "inactive"))
        #expect(!refused.media[1].attributes.contains(named: "simulcast"))
        #expect(!refused.media[1].attributes.contains(named: "rid"))
    }

    @Test func singleStreamTakesItsRepairSSRCFromTheFIDGroup() throws {
        let chromium = try Self.video(SDPFixtures.load("chromium156-sendonly-offer"))
        #expect(chromium.encodings.isEmpty && chromium.simulcastRIDs.isEmpty)
        #expect(chromium.ssrcs == [1162894474])
        #expect(chromium.rtxSSRC == 2411320478)
        #expect(chromium.rtxPayloadType == 97)
        let firefox = try Self.video(SDPFixtures.load("firefox153-sendonly-offer"))
        #expect(firefox.rtxSSRC == 104346557)
        #expect(firefox.rtxPayloadType == 124)
    }

    @Test func legacySIMGroupBecomesEncodingsWithRepairSSRCs() throws {
        let sdp = SDPFixtures.load("chromium156-sendonly-offer").editingLines { line in
            guard line == "a=ssrc-group:FID 1162894474 2411320478" else { return [line] }
            return [line, "a=ssrc-group:SIM 1162894474 1111 2222", "a=ssrc-group:FID 1111 3333",
                    "a=ssrc:1111 cname:x", "a=ssrc:2222 cname:x", "a=ssrc:3333 cname:x"]
        }
        let video = try Self.video(sdp)
        #expect(video.encodings == [
            ProducerEncoding(rid: "", ssrc: 1162894474, rtxSSRC: 2411320478),
            ProducerEncoding(rid: "", ssrc: 1111, rtxSSRC: 3333),
            ProducerEncoding(rid: "", ssrc: 2222, rtxSSRC: nil),
        ])
        #expect(video.rtxSSRC == nil)
        #expect(video.simulcastRIDs.isEmpty)
        let answer = try SDPOffer(parsing: sdp, intent: .publish).answer(local: SDPFixtures.local, sending: [:])
        #expect(!answer.contains("a=simulcast") && !answer.contains("a=rid"))
    }

    struct Ordering: Sendable, CustomTestStringConvertible {
        var lines: [String]
        var answered: [String]
        var encodings: [String]
        var testDescription: String { lines.joined(separator: " | ") }
    }

    static let orderings: [Ordering] = [
        // q/h/f are ordered by name whatever the offer's order; the answer keeps the offer's order.
        Ordering(lines: ["a=rid:f send", "a=rid:h send", "a=rid:q send", "a=simulcast:send f;h;q"],
                 answered: ["f", "h", "q"], encodings: ["q", "h", "f"]),
        // Other names with sizes: ascending height.
        Ordering(lines: ["a=rid:hi send max-height=720", "a=rid:lo send max-height=180", "a=rid:mid send max-height=360",
                         "a=simulcast:send hi;lo;mid"], answered: ["hi", "lo", "mid"], encodings: ["lo", "mid", "hi"]),
        Ordering(lines: ["a=rid:a send max-width=1280", "a=rid:b send max-width=320", "a=simulcast:send a;b"],
                 answered: ["a", "b"], encodings: ["b", "a"]),
        // Other names without sizes: the offer's order, lowest first.
        Ordering(lines: ["a=rid:0 send", "a=rid:1 send", "a=rid:2 send", "a=simulcast:send 0;1;2"],
                 answered: ["0", "1", "2"], encodings: ["0", "1", "2"]),
        // A stream of only paused rids is dropped; alternatives take the first usable rid; at most three.
        Ordering(lines: ["a=rid:q send", "a=rid:h send", "a=rid:f send", "a=rid:x send", "a=rid:y send",
                         "a=simulcast:send ~q;~h,f;x;y"], answered: ["f", "x", "y"], encodings: ["f", "x", "y"]),
        Ordering(lines: ["a=rid:a send", "a=rid:b send", "a=rid:c send", "a=rid:d send", "a=simulcast:send a;b;c;d"],
                 answered: ["a", "b", "c"], encodings: ["a", "b", "c"]),
        // A rid restricted to another payload type cannot carry VP8.
        Ordering(lines: ["a=rid:q send pt=98", "a=rid:h send pt=96,98", "a=rid:f send", "a=simulcast:send q;h;f"],
                 answered: ["h", "f"], encodings: ["h", "f"]),
        // Every stream paused: no simulcast in the answer, a single stream.
        Ordering(lines: ["a=rid:q send", "a=simulcast:send ~q"], answered: [], encodings: []),
        // rids without a=simulcast are not simulcast.
        Ordering(lines: ["a=rid:q send", "a=rid:h send"], answered: [], encodings: []),
    ]

    @Test(arguments: orderings)
    func encodingsAreLowestFirstAndTheAnswerKeepsTheOfferOrder(_ ordering: Ordering) throws {
        let sdp = Self.chromiumSimulcast(ordering.lines)
        let offer = try SDPOffer(parsing: sdp, intent: .publish)
        let video = offer.media[1]
        #expect(video.simulcastRIDs == ordering.answered)
        #expect(video.encodings.map(\.rid) == ordering.encodings)
        let answer = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: [:]))
        #expect(Self.values(answer.media[1], "rid") == ordering.answered.map { "\($0) recv" })
        #expect(Self.values(answer.media[1], "simulcast") == (ordering.answered.isEmpty ? [] : ["recv " + ordering.answered.joined(separator: ";")]))
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var lines: [String]
        var code: SDPError.Code
        var testDescription: String { lines.joined(separator: " | ") }
    }

    static let refusals: [Refusal] = [
        Refusal(lines: ["a=rid:q send", "a=simulcast:send q;h"], code: .invalidSimulcast),
        Refusal(lines: ["a=rid:q send", "a=rid:q send", "a=simulcast:send q"], code: .invalidSimulcast),
        Refusal(lines: ["a=rid:q send", "a=rid:h send", "a=simulcast:send q;h,q"], code: .invalidSimulcast),
        Refusal(lines: ["a=rid:q recv", "a=simulcast:send q"], code: .invalidSimulcast),
        Refusal(lines: ["a=rid:q send", "a=simulcast:send"], code: .malformed),
        Refusal(lines: ["a=rid:q send", "a=simulcast:sned q"], code: .malformed),
        Refusal(lines: ["a=rid:q send", "a=simulcast:send q;;h"], code: .malformed),
        Refusal(lines: ["a=rid:q send", "a=simulcast:send q", "a=simulcast:send q"], code: .malformed),
        Refusal(lines: ["a=rid:q! send", "a=simulcast:send q"], code: .malformed),
        Refusal(lines: ["a=rid:q sideways", "a=simulcast:send q"], code: .malformed),
        Refusal(lines: ["a=rid:q", "a=simulcast:send q"], code: .malformed),
        Refusal(lines: ["a=rid:q send", "a=simulcast:send ~"], code: .malformed),
    ]

    @Test(arguments: refusals)
    func oddSimulcastLinesAreRefusedWithAReason(_ refusal: Refusal) {
        let error = SDPFixtures.offerError(Self.chromiumSimulcast(refusal.lines), .publish)
        #expect(error?.code == refusal.code)
        #expect(error?.line != nil)
        #expect(error?.reason.isEmpty == false)
    }

    @Test func recvonlyAnswerAnnouncesTheRTXStreamInAnFIDGroup() throws {
        let offer = try SDPOffer(parsing: SDPFixtures.load("chromium156-recvonly-offer"), intent: .subscribe)
        let video = offer.media[1]
        #expect(video.rtxPayloadType == 97)
        #expect(video.feedback == [.nack, .pli, .fir, .remb, .transportCC])
        #expect(video.extensions.transportWideCC == 3)
        #expect(offer.media[0].rtxPayloadType == 0)
        let sending = [
            "0": OutgoingTrack(ssrc: 111, cname: "sabha", streamID: "alice", trackID: "alice-audio", rtxSSRC: 999),
            "1": OutgoingTrack(ssrc: 222, cname: "sabha", streamID: "alice", trackID: "alice-video", rtxSSRC: 333),
        ]
        let answer = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: sending))
        let section = answer.media[1]
        #expect(section.formats == ["96", "97"])
        #expect(Self.values(section, "rtpmap") == ["96 VP8/90000", "97 rtx/90000"])
        #expect(Self.values(section, "fmtp").contains("97 apt=96"))
        #expect(Self.values(section, "ssrc-group") == ["FID 222 333"])
        #expect(Self.values(section, "ssrc") == [
            "222 cname:sabha", "222 msid:alice alice-video", "333 cname:sabha", "333 msid:alice alice-video",
        ])
        #expect(Self.values(section, "extmap") == ["3 \(Self.transportCC)", "4 urn:ietf:params:rtp-hdrext:sdes:mid"])
        #expect(!section.attributes.contains(named: "simulcast"))
        // Audio has no RTX: no group, only the media SSRC.
        #expect(!answer.media[0].attributes.contains(named: "ssrc-group"))
        #expect(Self.values(answer.media[0], "ssrc") == ["111 cname:sabha", "111 msid:alice alice-audio"])
        #expect(Self.values(answer.media[0], "rtcp-fb") == ["111 transport-cc"])
    }

    @Test func rtxNeedsAnAptForTheChosenCodec() throws {
        // apt pointing elsewhere, or no fmtp at all: no RTX.
        let elsewhere = SDPFixtures.load("chromium156-recvonly-offer").replacingOccurrences(of: "a=fmtp:97 apt=96", with: "a=fmtp:97 apt=98")
        #expect(try Self.video(elsewhere, intent: .subscribe).rtxPayloadType == 0)
        let missing = SDPFixtures.load("chromium156-recvonly-offer").replacingOccurrences(of: "a=fmtp:97 apt=96\r\n", with: "")
        #expect(try Self.video(missing, intent: .subscribe).rtxPayloadType == 0)
        let answer = try SDPOffer(parsing: missing, intent: .subscribe).answer(
            local: SDPFixtures.local, sending: ["1": OutgoingTrack(ssrc: 5, cname: "c", streamID: "s", trackID: "t", rtxSSRC: 6)])
        #expect(!answer.contains("ssrc-group") && !answer.contains("rtx/90000"))
    }

    @Test func transportCCFeedbackNeedsTheHeaderExtension() throws {
        let sdp = SDPFixtures.load("chromium156-simulcast-offer").removingLines { $0.contains("transport-wide-cc") }
        let offer = try SDPOffer(parsing: sdp, intent: .publish)
        #expect(offer.media[0].rtcpFeedback.isEmpty && offer.media[0].feedback.isEmpty)
        #expect(offer.media[1].rtcpFeedback == ["goog-remb", "ccm fir", "nack", "nack pli"])
        #expect(!offer.media[1].feedback.contains(.transportCC))
    }
}
