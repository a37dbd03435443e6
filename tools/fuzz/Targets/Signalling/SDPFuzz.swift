import MediaCore
@testable import Signalling

/// SDP offers (RFC 8866, JSEP/RFC 9429 as browsers write them) read for each intent (WHIP publish,
/// WHEP subscribe, meeting). Every offer that is accepted is answered, and the answer must parse with
/// one m-line per offered one and the same accepted mids.
enum SDPFuzz {
    static let name = "sdp"
    static let local = LocalSDPParameters(
        iceUfrag: "fuzzufrag", icePassword: "fuzzpasswordfuzzpassword",
        fingerprint: DTLSFingerprint(algorithm: "sha-256", value: String(repeating: "AB:", count: 31) + "AB"),
        candidateIP: "127.0.0.1", candidatePort: 40_000, sessionID: 1)

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let text = String(decoding: data, as: UTF8.self)
        guard let session = try? SessionDescription(parsing: text) else { return }
        for intent in [SDPIntent.publish, .subscribe, .meeting] {
            guard let offer = try? SDPOffer(session: session, intent: intent) else { continue }
            var sending: [String: OutgoingTrack] = [:]
            for (index, media) in offer.media.enumerated() where media.accepted {
                sending[media.mid] = OutgoingTrack(ssrc: 1000 + UInt32(index), cname: "fuzz", streamID: "s\(index)",
                                                   trackID: "t\(index)", rtxSSRC: 2000 + UInt32(index))
            }
            for answer in [offer.answer(local: local, sending: [:]), offer.answer(local: local, sending: sending)] {
                let parsed: SessionDescription
                do {
                    parsed = try SessionDescription(parsing: answer)
                } catch {
                    throw FuzzFailure(name, "our answer does not parse (\(error)):\n\(answer)")
                }
                try check(parsed.media.count == offer.media.count, name, "answer has \(parsed.media.count) m-lines for \(offer.media.count)")
                for (mine, theirs) in zip(parsed.media, offer.media) {
                    try check((mine.port != 0) == theirs.accepted, name, "m-line \(theirs.mid) accepted/rejected differently in the answer")
                }
            }
        }
    }
}
