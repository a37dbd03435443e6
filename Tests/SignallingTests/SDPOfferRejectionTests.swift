import Foundation
import Testing
@testable import Signalling
import MediaCore

/// Offers that must be refused, each with its code, the words a person needs and the line.
struct SDPOfferRejectionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var base = "chromium156-sendonly-offer"
        var intent = SDPIntent.publish
        var edit: @Sendable (String) -> String
        var code: SDPError.Code
        var reasonMentions: [String]
        /// Prefix of the line the error must point at, in the edited offer; nil = no line.
        var linePrefix: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no ICE credentials anywhere",
             edit: { $0.removingLines { $0.hasPrefix("a=ice-ufrag") || $0.hasPrefix("a=ice-pwd") } },
             code: .missingICECredentials, reasonMentions: ["ice-ufrag", "audio"], linePrefix: "m=audio"),
        Case(name: "ICE ufrag too short",
             edit: { $0.replacingOccurrences(of: "a=ice-ufrag:+hpE", with: "a=ice-ufrag:ab") },
             code: .invalidICECredentials, reasonMentions: ["ice-ufrag", "4 to 256"], linePrefix: "a=ice-ufrag"),
        Case(name: "ICE credentials differ between bundled m-lines",
             edit: { text in
                 var seen = false
                 return text.editingLines { line in
                     guard line.hasPrefix("a=ice-ufrag") else { return [line] }
                     defer { seen = true }
                     return seen ? ["a=ice-ufrag:OTHER"] : [line]
                 }
             },
             code: .conflictingTransport, reasonMentions: ["ICE credentials"], linePrefix: "a=ice-ufrag:OTHER"),
        Case(name: "no fingerprint anywhere",
             edit: { $0.removingLines { $0.hasPrefix("a=fingerprint") } },
             code: .missingFingerprint, reasonMentions: ["a=fingerprint"], linePrefix: "m=audio"),
        Case(name: "fingerprint that is not hex",
             edit: { $0.replacingOccurrences(of: "sha-256 0E:16:B7", with: "sha-256 ZZ:16:B7") },
             code: .invalidFingerprint, reasonMentions: ["hex"], linePrefix: "a=fingerprint"),
        Case(name: "setup passive",
             edit: { $0.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:passive") },
             code: .unsupportedSetup, reasonMentions: ["passive", "actpass or active"], linePrefix: "a=setup"),
        Case(name: "setup holdconn",
             edit: { $0.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:holdconn") },
             code: .unsupportedSetup, reasonMentions: ["holdconn"], linePrefix: "a=setup"),
        Case(name: "no rtcp-mux",
             edit: { $0.removingLines { $0 == "a=rtcp-mux" } },
             code: .missingRTCPMux, reasonMentions: ["rtcp-mux", "mid 0"], linePrefix: "m=audio"),
        Case(name: "no BUNDLE with two usable m-lines",
             edit: { $0.removingLines { $0.hasPrefix("a=group:BUNDLE") } },
             code: .missingBundle, reasonMentions: ["BUNDLE"], linePrefix: nil),
        Case(name: "BUNDLE without the video mid",
             edit: { $0.replacingOccurrences(of: "a=group:BUNDLE 0 1", with: "a=group:BUNDLE 0") },
             code: .missingBundle, reasonMentions: ["BUNDLE", "0 1"], linePrefix: "a=group:BUNDLE"),
        Case(name: "Plan B: two msid lines in one m-line",
             edit: { $0.editingLines { $0.hasPrefix("a=msid:aa6834f8") && $0.hasSuffix("1d74") ? [$0, "a=msid:other-stream other-track"] : [$0] } },
             code: .notUnifiedPlan, reasonMentions: ["Plan B", "Unified Plan"], linePrefix: "m=audio"),
        Case(name: "Plan B: ssrc lines naming two tracks",
             edit: { $0.editingLines { $0.hasPrefix("a=ssrc:2762058622 msid") ? [$0, "a=ssrc:1111 cname:x", "a=ssrc:1111 msid:s2 t2"] : [$0] } },
             code: .notUnifiedPlan, reasonMentions: ["Plan B"], linePrefix: "m=audio"),
        Case(name: "Plan B: unrelated SSRCs without simulcast",
             base: "firefox153-sendonly-offer",
             edit: { $0.removingLines { $0.hasPrefix("a=ssrc-group:FID") } },
             code: .notUnifiedPlan, reasonMentions: ["2 media SSRCs"], linePrefix: "m=video"),
        Case(name: "two m-lines share a mid",
             edit: { $0.replacingOccurrences(of: "a=mid:1", with: "a=mid:0") },
             code: .duplicateMid, reasonMentions: ["a=mid:0"], linePrefix: "m=video"),
        Case(name: "usable m-line without mid",
             edit: { $0.removingLines { $0.hasPrefix("a=mid:") } },
             code: .missingMid, reasonMentions: ["a=mid"], linePrefix: "m=audio"),
        Case(name: "offerer is ICE-lite",
             edit: { $0.replacingOccurrences(of: "t=0 0\r\n", with: "t=0 0\r\na=ice-lite\r\n") },
             code: .remoteICELite, reasonMentions: ["ICE-lite"], linePrefix: "a=ice-lite"),
        Case(name: "neither Opus nor VP8",
             edit: { $0.replacingOccurrences(of: " opus/", with: " opuz/").replacingOccurrences(of: " VP8/", with: " VPX/") },
             code: .noUsableMedia, reasonMentions: ["opus/48000/2", "VP8/90000", "mid 0", "mid 1"], linePrefix: nil),
        Case(name: "every m-line disabled with port 0",
             edit: { $0.replacingOccurrences(of: "m=audio 54579", with: "m=audio 0").replacingOccurrences(of: "m=video 49906", with: "m=video 0") },
             code: .noUsableMedia, reasonMentions: ["port 0"], linePrefix: nil),
        Case(name: "rtpmap without clock rate",
             edit: { $0.replacingOccurrences(of: "a=rtpmap:9 G722/8000", with: "a=rtpmap:9 G722") },
             code: .malformed, reasonMentions: ["a=rtpmap"], linePrefix: "a=rtpmap:9 G722"),
        Case(name: "extmap id mapped twice",
             edit: { $0.replacingOccurrences(of: "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", with: "a=extmap:1 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time") },
             code: .malformed, reasonMentions: ["id 1"], linePrefix: "a=extmap:1 http"),
        Case(name: "simulcast naming an invalid rid",
             base: "chromium156-simulcast-offer",
             edit: { $0.replacingOccurrences(of: "a=simulcast:send q;h;f", with: "a=simulcast:send q;h!;f") },
             code: .malformed, reasonMentions: ["h!"], linePrefix: "a=simulcast"),
        Case(name: "document not starting with v=0",
             edit: { "x" + $0 },
             code: .malformed, reasonMentions: ["v=0"], linePrefix: "xv=0"),
        Case(name: "line without type=value",
             edit: { $0.replacingOccurrences(of: "s=-\r\n", with: "s=-\r\nhello\r\n") },
             code: .malformed, reasonMentions: ["<letter>=<value>"], linePrefix: "hello"),
        Case(name: "m-line port out of range",
             edit: { $0.replacingOccurrences(of: "m=audio 54579", with: "m=audio 99999") },
             code: .malformed, reasonMentions: ["99999"], linePrefix: "m=audio"),
        Case(name: "receive-only offer for WHIP",
             base: "chromium156-recvonly-offer",
             edit: { $0 },
             code: .noUsableMedia, reasonMentions: ["recvonly", "WHIP", "m-line 1 (audio mid 0)"], linePrefix: nil),
    ]

    @Test(arguments: cases)
    func offerIsRefusedWithReason(_ test: Case) throws {
        let sdp = test.edit(SDPFixtures.load(test.base))
        let error = try #require(SDPFixtures.offerError(sdp, test.intent))
        #expect(error.code == test.code, "\(error)")
        for words in test.reasonMentions {
            #expect(error.reason.contains(words), "\"\(words)\" missing from: \(error.reason)")
        }
        #expect(error.line == test.linePrefix.flatMap { sdp.lineNumber(ofFirst: $0) }, "\(error)")
    }

    @Test func offerLargerThanTheSizeLimitIsRefusedBeforeParsing() {
        let padding = String(repeating: "a=x-padding:0123456789abcdef0123456789abcdef\r\n", count: SessionDescription.maximumSize / 40)
        let sdp = SDPFixtures.load("chromium156-sendonly-offer") + padding
        #expect(sdp.utf8.count > SessionDescription.maximumSize)
        #expect(SDPFixtures.offerError(sdp, .publish)?.code == .tooLarge)
    }

    @Test func offerWithMoreMediaSectionsThanTheLimitIsRefused() {
        let limit = SessionDescription.maximumMediaSections
        #expect(limit >= 2 + 49 * 3, "a meeting of 50 with screen shares fits")
        let header = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        let tooMany = String(repeating: "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", count: limit + 1)
        let error = SDPFixtures.offerError(header + tooMany, .publish)
        #expect(error?.code == .tooManyMediaSections)
        #expect(error?.line == 5 + limit)
        let enough = String(repeating: "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n", count: limit)
        #expect(throws: Never.self) { try SessionDescription(parsing: header + enough) }
    }

    @Test func controlCharacterInsideALineIsRefused() {
        let sdp = SDPFixtures.load("chromium156-sendonly-offer").replacingOccurrences(of: "a=mid:0", with: "a=mid:0\r1")
        let error = SDPFixtures.offerError(sdp, .publish)
        #expect(error?.code == .malformed)
        #expect(error?.reason.contains("control character") == true)
    }

    @Test func emptyOfferIsRefused() {
        #expect(SDPFixtures.offerError("", .publish)?.code == .malformed)
        #expect(SDPFixtures.offerError("\r\n\r\n", .subscribe)?.code == .malformed)
    }

    @Test func errorDescriptionNamesTheLine() {
        #expect(SDPError(.malformed, line: 7, "bad").description == "line 7: bad")
        #expect(SDPError("bad").code == .invalidOffer)
        #expect(SDPError("bad").description == "bad")
    }
}

/// Offers with some m-lines we cannot use: those are rejected, the rest accepted.
struct SDPPartialOfferTests {
    /// The Chromium publish offer with an extra data channel m-line in the BUNDLE group.
    static func withDataChannel() -> String {
        SDPFixtures.load("chromium156-sendonly-offer")
            .replacingOccurrences(of: "a=group:BUNDLE 0 1", with: "a=group:BUNDLE 0 1 2")
            + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n"
    }

    @Test func dataChannelMLineIsRejectedAndTheRestAccepted() throws {
        let offer = try SDPOffer(parsing: Self.withDataChannel(), intent: .publish)
        #expect(offer.media.map(\.accepted) == [true, true, false])
        #expect(offer.media[2].kind == nil)
        #expect(offer.media[2].rejectionReason?.contains("data channels") == true)
        #expect(offer.bundle == ["0", "1"])
    }

    @Test func videoWithoutVP8IsRejectedAndAudioAccepted() throws {
        let sdp = SDPFixtures.load("firefox153-sendonly-offer").replacingOccurrences(of: "a=rtpmap:120 VP8/90000", with: "a=rtpmap:120 H265/90000")
        let offer = try SDPOffer(parsing: sdp, intent: .publish)
        #expect(offer.media.map(\.accepted) == [true, false])
        #expect(offer.media[1].rejectionReason?.contains("VP8") == true)
        #expect(offer.media[1].extensions == HeaderExtensionIDs())
        #expect(offer.media[1].offeredExtensions.mid == 3)
    }

    @Test func singleUsableMLineNeedsNoBundle() throws {
        let sdp = SDPFixtures.load("chromium156-sendonly-offer")
            .removingLines { $0.hasPrefix("a=group:BUNDLE") }
            .replacingOccurrences(of: "m=video 49906", with: "m=video 0")
        let offer = try SDPOffer(parsing: sdp, intent: .publish)
        #expect(offer.media.map(\.accepted) == [true, false])
        #expect(offer.media[1].rejectionReason?.contains("port 0") == true)
        #expect(offer.bundle.isEmpty)
    }

    @Test func bundleOnlyMLineWithPortZeroIsAccepted() throws {
        // max-bundle offerers (RFC 8843 §7.2.1) zero the port of every m-line but the first.
        let sdp = SDPFixtures.load("aiortc-sendonly-offer")
            .replacingOccurrences(of: "m=video 35279", with: "m=video 0")
            .replacingOccurrences(of: "a=mid:1\r\n", with: "a=mid:1\r\na=bundle-only\r\n")
        let offer = try SDPOffer(parsing: sdp, intent: .publish)
        #expect(offer.media.map(\.accepted) == [true, true])
        #expect(offer.bundle == ["0", "1"])
    }

    @Test func sendrecvOfferIsUsableForBothIntents() throws {
        let sdp = SDPFixtures.load("chromium156-sendonly-offer").replacingOccurrences(of: "a=sendonly", with: "a=sendrecv")
        #expect(try SDPOffer(parsing: sdp, intent: .publish).media.allSatisfy(\.accepted))
        #expect(try SDPOffer(parsing: sdp, intent: .subscribe).media.allSatisfy(\.accepted))
    }

    @Test func audioLevelOfferedOnlyAsReceiveIsNotEchoedForPublish() throws {
        let sdp = SDPFixtures.load("chromium156-sendonly-offer")
            .replacingOccurrences(of: "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level", with: "a=extmap:1/recvonly urn:ietf:params:rtp-hdrext:ssrc-audio-level")
        let audio = try SDPOffer(parsing: sdp, intent: .publish).media[0]
        #expect(audio.extensions.audioLevel == 0)
        #expect(audio.offeredExtensions.audioLevel == 1)
    }

    @Test func sessionLevelICEAndFingerprintApplyToEveryMLine() throws {
        // Move the transport attributes of the Chromium offer to session level.
        let original = SDPFixtures.load("chromium156-sendonly-offer")
        let moved = original
            .removingLines { $0.hasPrefix("a=ice-ufrag") || $0.hasPrefix("a=ice-pwd") || $0.hasPrefix("a=fingerprint") || $0.hasPrefix("a=setup") }
            .replacingOccurrences(of: "t=0 0\r\n", with: "t=0 0\r\na=ice-ufrag:+hpE\r\na=ice-pwd:Cy8YgPHK3QyQKTbevUPin/Id\r\na=fingerprint:sha-1 0E:16:B7:DA:D7:9F:6D:53:9F:2C:08:6A:20:71:14:0E:FC:32:62:86\r\na=setup:active\r\n")
        let offer = try SDPOffer(parsing: moved, intent: .publish)
        #expect(offer.iceUfrag == "+hpE")
        #expect(offer.fingerprints == [DTLSFingerprint(algorithm: "sha-1", value: "0E:16:B7:DA:D7:9F:6D:53:9F:2C:08:6A:20:71:14:0E:FC:32:62:86")])
    }
}
