import Foundation
import MediaCore
import Testing
@testable import Signalling

/// Each attribute of an m-section has its own small reader (as `SDPExtmap`, `SDPSimulcast` and `SDPRID` do): what
/// each takes, and the lines each refuses with a `malformed` (or `invalid-fingerprint`) error on its line.
@Suite struct SDPAttributeReaderTests {
    static func code(_ body: () throws(SDPError) -> Void) -> (SDPError.Code, Int?)? {
        do { try body() } catch { return (error.code, error.line) }
        return nil
    }

    @Test func rtpmapReadsNameClockRateAndChannels() throws {
        let opus = try SDPRTPMap(parsing: "111 opus/48000/2", line: 7)
        #expect(opus.payloadType == 111 && opus.name == "opus" && opus.clockRate == 48000 && opus.channels == "2")
        #expect(opus.isCodec("OPUS", clockRate: 48000) && !opus.isCodec("opus", clockRate: 8000))
        let vp8 = try SDPRTPMap(parsing: "96 VP8/90000", line: 7)
        #expect(vp8.channels == nil && vp8.isCodec("vp8", clockRate: 90000))
    }

    @Test(arguments: ["128 VP8/90000", "96", "96 VP8", "96 /90000", "96 VP8/fast", "x VP8/90000", "96 VP8/90000/2/1"])
    func rtpmapRefusesWhatBreaksItsGrammar(value: String) {
        #expect(Self.code { () throws(SDPError) in _ = try SDPRTPMap(parsing: value, line: 9) } ?? (.invalidOffer, nil) == (.malformed, 9))
    }

    @Test func fmtpKeepsItsParametersAndFindsTheRTXApt() throws {
        let rtx = try SDPFormatParameters(parsing: "97 apt=96", line: 3)
        #expect(rtx.format == "97" && rtx.parameters == "apt=96")
        #expect(try SDPFormatParameters(parsing: "111", line: 3).parameters == "")
        #expect(Self.code { () throws(SDPError) in _ = try SDPFormatParameters(parsing: "   ", line: 3) } ?? (.invalidOffer, nil) == (.malformed, 3))
        let table: [(String?, UInt8?)] = [("apt=96", 96), ("rtx-time=3000; apt = 100", 100), ("apt=300", nil), ("minptime=10", nil), (nil, nil)]
        for (parameters, apt) in table {
            #expect(SDPFormatParameters.associatedPayloadType(parameters) == apt, "\(parameters ?? "nil")")
        }
    }

    @Test func rtcpFeedbackAppliesToItsPayloadTypeOrToAll() throws {
        let pli = try SDPFeedback(parsing: "96 nack  pli", line: 4)
        #expect(pli.value == "nack pli" && pli.applies(to: 96) && !pli.applies(to: 97))
        #expect(try SDPFeedback(parsing: "* transport-cc", line: 4).applies(to: 111))
        #expect(Self.code { () throws(SDPError) in _ = try SDPFeedback(parsing: "96", line: 4) } ?? (.invalidOffer, nil) == (.malformed, 4))
    }

    @Test func ssrcLinesAndGroupsSayWhichStreamsRepairWhich() throws {
        var sources = SDPSources()
        sources.add(try SDPSourceAttribute(parsing: "1001 cname:x", line: 1))
        sources.add(try SDPSourceAttribute(parsing: "1001 msid:stream track", line: 2))
        sources.add(try SDPSourceAttribute(parsing: "2001 cname:x", line: 3))
        sources.add(try SDPSourceAttribute(parsing: "1002 cname:x", line: 4))
        sources.add(try SDPSourceGroup(parsing: "FID 1001 2001", line: 5))
        sources.add(try SDPSourceGroup(parsing: "FID 1001 2002", line: 6))
        sources.add(try SDPSourceGroup(parsing: "SIM 1001 1002", line: 7))
        sources.add(try SDPSourceGroup(parsing: "SIM 1002", line: 8))
        #expect(sources.ssrcs == [1001, 2001, 1002])
        #expect(sources.primary == [1001, 1002])
        #expect(sources.repairOf == [1001: 2001], "the first FID group of a media SSRC wins")
        #expect(sources.simulcastGroup == [1001, 1002], "the first SIM group wins")
        #expect(sources.mediaStreamIDs == [SDPMediaStreamID(streamID: "stream", trackID: "track")])
    }

    @Test(arguments: [("ssrc", "cname:x"), ("ssrc", "99999999999 cname:x"), ("ssrc", "1 msid:a b c"), ("ssrc-group", "FID"),
                      ("ssrc-group", "FID 1"), ("ssrc-group", "FEC-FR 1"), ("ssrc-group", "SIM 1 two")])
    func ssrcReadersRefuseWhatBreaksTheirGrammar(name: String, value: String) {
        let result = Self.code { () throws(SDPError) in
            if name == "ssrc" { _ = try SDPSourceAttribute(parsing: value, line: 5) } else { _ = try SDPSourceGroup(parsing: value, line: 5) }
        }
        #expect(result ?? (.invalidOffer, nil) == (.malformed, 5))
    }

    @Test func fingerprintsAreHexBytesSeparatedByColons() throws {
        let hex = (0..<32).map { _ in "AB" }.joined(separator: ":")
        let fingerprint = try DTLSFingerprint(sdp: SDPAttribute(name: "fingerprint", value: "SHA-256 \(hex.lowercased())", line: 2))
        #expect(fingerprint == DTLSFingerprint(algorithm: "sha-256", value: hex))
        for value in ["sha-256", "sha-256 \(hex):", "sha-256 \(hex.replacingOccurrences(of: ":", with: "-"))", "sha-256 AB:CD", "sh\"a \(hex)"] {
            let result = Self.code { () throws(SDPError) in _ = try DTLSFingerprint(sdp: SDPAttribute(name: "fingerprint", value: value, line: 2)) }
            #expect(result ?? (.invalidOffer, nil) == (.invalidFingerprint, 2), "\(value)")
        }
    }

    @Test func anMSectionsOwnTransportAttributesComeBeforeTheSessions() throws {
        var session = SDPTransportAttributes()
        var taken: [Bool] = []
        let lines: [(String, String?)] = [("ice-ufrag", "sess"), ("setup", "actpass"), ("rtcp-mux", nil), ("mid", "0")]
        for (name, value) in lines {
            taken.append(try session.read(SDPAttribute(name: name, value: value, line: 1)))
        }
        #expect(taken == [true, true, true, false], "mid is not a transport attribute")
        var media = SDPTransportAttributes()
        _ = try media.read(SDPAttribute(name: "ice-ufrag", value: "mine", line: 5))
        let inForce = media.falling(back: session)
        #expect(inForce.iceUfrag?.value == "mine" && inForce.setup?.value == "actpass")
        #expect(!inForce.rtcpMux, "a=rtcp-mux counts only on the m-section itself")
        let twice = Self.code { () throws(SDPError) in _ = try media.read(SDPAttribute(name: "ice-ufrag", value: "again", line: 6)) }
        #expect(twice ?? (.invalidOffer, nil) == (.malformed, 6))
    }

    @Test func anMSectionRefusesContradictionsOnTheLineThatMakesThem() {
        let cases: [([(String, String?)], Int)] = [
            ([("sendonly", nil), ("recvonly", nil)], 2),
            ([("rtpmap", "96 VP8/90000"), ("rtpmap", "96 H264/90000")], 2),
            ([("extmap", "1 urn:a"), ("extmap", "1 urn:a"), ("extmap", "1 urn:b")], 3),
            ([("mid", "0"), ("mid", "1")], 2),
            ([("mid", "a b")], 1),
            ([("simulcast", "send q;h"), ("simulcast", "send f")], 2),
            ([("rid", "")], 1),
        ]
        for (lines, line) in cases {
            let attributes = lines.enumerated().map { SDPAttribute(name: $0.element.0, value: $0.element.1, line: $0.offset + 1) }
            let result = Self.code { () throws(SDPError) in _ = try SDPMediaAttributes(attributes) }
            #expect(result ?? (.invalidOffer, nil) == (.malformed, line), "\(lines)")
        }
    }
}
