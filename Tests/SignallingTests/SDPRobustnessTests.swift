import Foundation
import Testing
@testable import Signalling
import MediaCore
import SabhaTestSupport

/// Mutated and random input must only ever be refused with an SDPError: no trap, no hang. Any
/// input that is accepted must also yield an answer that parses again.
struct SDPRobustnessTests {
    /// Bytes that matter to the grammar, so mutations hit interesting paths more often.
    static let interesting: [UInt8] = Array("=: /;,~\r\n0123456789am-*".utf8) + [0x00, 0x09, 0x7F, 0xFF, 0xC3]

    static func mutate(_ input: [UInt8], corpus: [[UInt8]], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes[at] = interesting.randomElement(using: &rng)!
            case 2: bytes.insert(interesting.randomElement(using: &rng)!, at: at)
            case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...64, using: &rng)))
            case 4: bytes.removeSubrange(at...)
            case 5: // duplicate a chunk
                let end = min(bytes.count, at + Int.random(in: 1...200, using: &rng))
                bytes.insert(contentsOf: bytes[at..<end], at: Int.random(in: 0...bytes.count, using: &rng))
            case 6: // splice a chunk of another offer
                let other = corpus.randomElement(using: &rng)!
                let from = Int.random(in: 0..<other.count, using: &rng)
                let chunk = other[from..<min(other.count, from + Int.random(in: 1...300, using: &rng))]
                bytes.insert(contentsOf: chunk, at: at)
            default: // swap a digit for a big number
                bytes.replaceSubrange(at..<min(bytes.count, at + 1), with: Array("99999999999".utf8))
            }
        }
        return bytes
    }

    /// Parses with both intents; when accepted, the answer must parse again.
    static func exercise(_ bytes: [UInt8], intents: [SDPIntent] = [.publish, .subscribe]) -> (accepted: Int, refused: Int) {
        let session: SessionDescription
        do {
            session = try SessionDescription(parsing: String(decoding: bytes, as: UTF8.self))
        } catch {
            #expect(!error.reason.isEmpty)
            return (0, 1)
        }
        var counts = (accepted: 0, refused: 0)
        for intent in intents {
            do {
                let offer = try SDPOffer(session: session, intent: intent)
                let track = OutgoingTrack(ssrc: 1, cname: "c", streamID: "s", trackID: "t", rtxSSRC: 2)
                let sending = Dictionary(offer.media.map { ($0.mid, track) }, uniquingKeysWith: { a, _ in a })
                let answer = offer.answer(local: SDPFixtures.local, sending: sending)
                do {
                    _ = try SessionDescription(parsing: answer)
                } catch {
                    Issue.record("answer to an accepted offer does not parse: \(error)\n\(answer)")
                }
                counts.accepted += 1
            } catch {
                #expect(!error.reason.isEmpty)
                counts.refused += 1
            }
        }
        return counts
    }

    @Test func mutatedOffersAreEitherAcceptedOrRefusedWithSDPError() {
        let corpus = SDPFixtures.all.map { Array(SDPFixtures.load($0).utf8) }
        var rng = SplitMix64(seed: 0x5AB4A_5D9)
        var totals = (accepted: 0, refused: 0)
        for round in 0..<20_000 {
            let base = round % corpus.count
            let input = Self.mutate(corpus[base], corpus: corpus, using: &rng)
            let counts = Self.exercise(input, intents: [SDPFixtures.intent(of: SDPFixtures.all[base])])
            totals.accepted += counts.accepted
            totals.refused += counts.refused
        }
        // Both outcomes must occur, or the mutations are not reaching the checks.
        #expect(totals.accepted > 1_000, "\(totals)")
        #expect(totals.refused > 1_000, "\(totals)")
    }

    @Test func randomBytesAreRefusedWithSDPError() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...128, using: &rng) {
                withUnsafeBytes(of: rng.next()) { bytes += $0 }
            }
            #expect(Self.exercise(bytes).accepted == 0)
            // Random text that starts like SDP gets further into the parser.
            let lines = (0..<Int.random(in: 0...40, using: &rng)).map { _ in
                let type = Character(Unicode.Scalar(UInt8.random(in: 0x61...0x7A, using: &rng)))
                let value = String((0..<Int.random(in: 0...40, using: &rng)).map { _ in
                    Character(Unicode.Scalar(Self.interesting.randomElement(using: &rng)!))
                })
                return "\(type)=\(value)"
            }
            _ = Self.exercise(Array((["v=0"] + lines).joined(separator: "\r\n").utf8))
        }
    }

    /// Random a=rid, a=simulcast and a=ssrc-group lines in a simulcast offer, under every intent.
    @Test func randomSimulcastLinesAreAcceptedOrRefusedWithSDPError() {
        var rng = SplitMix64(seed: 0x51_4C_A5)
        let base = SDPFixtures.load("chromium156-simulcast-offer").removingLines { $0.hasPrefix("a=rid:") || $0.hasPrefix("a=simulcast:") }
        let rids = ["q", "h", "f", "x", "~q", "~h", "", "q!", "0", "hi"]
        let pieces = ["send", "recv", "sned", " ", ";", ",", "pt=96", "pt=98", "max-height=360", "max-width=abc", "=", "99999999999"]
        var totals = (accepted: 0, refused: 0)
        for _ in 0..<3_000 {
            var lines: [String] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let rid = rids.randomElement(using: &rng)!
                let rest = (0..<Int.random(in: 0...3, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined(separator: " ")
                lines.append("a=rid:\(rid) \(rest)")
            }
            for _ in 0..<Int.random(in: 0...2, using: &rng) {
                let streams = (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                    (0..<Int.random(in: 1...2, using: &rng)).map { _ in rids.randomElement(using: &rng)! }.joined(separator: ",")
                }
                lines.append("a=simulcast:\(["send", "recv", "send"].randomElement(using: &rng)!) \(streams.joined(separator: ";"))")
            }
            if Bool.random(using: &rng) {
                let members = (0..<Int.random(in: 0...4, using: &rng)).map { _ in String(UInt32.random(in: 1...5, using: &rng)) }
                lines.append("a=ssrc-group:\(["SIM", "FID"].randomElement(using: &rng)!) \(members.joined(separator: " "))")
            }
            let sdp = base.editingLines { $0.hasPrefix("a=rtpmap:120 ") ? [$0] + lines : [$0] }
            let counts = Self.exercise(Array(sdp.utf8), intents: [.publish, .subscribe, .meeting])
            totals.accepted += counts.accepted
            totals.refused += counts.refused
        }
        #expect(totals.accepted > 100, "\(totals)")
        #expect(totals.refused > 100, "\(totals)")
    }

    @Test(arguments: SDPFixtures.all)
    func everyLinePrefixOfARealOfferIsHandled(_ fixture: String) {
        let lines = SDPFixtures.load(fixture).split(separator: "\r\n", omittingEmptySubsequences: false)
        for count in 0...lines.count {
            _ = Self.exercise(Array(lines.prefix(count).joined(separator: "\r\n").utf8))
        }
    }
}
