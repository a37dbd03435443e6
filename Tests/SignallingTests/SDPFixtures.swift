import Foundation
import Testing
@testable import Signalling
import MediaCore

/// Real offers in Tests/Fixtures/sdp (README.md there says how each was captured).
enum SDPFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sdp")

    static let publishOffers = [
        "chromium156-sendonly-offer", "chromium156-simulcast-offer", "firefox153-sendonly-offer",
        "firefox153-simulcast-offer", "firefox153-whip-simulcast-offer", "aiortc-sendonly-offer",
    ]
    static let subscribeOffers = ["chromium156-recvonly-offer", "firefox153-recvonly-offer", "aiortc-recvonly-offer"]
    static let all = publishOffers + subscribeOffers

    static func load(_ name: String) -> String {
        let url = directory.appendingPathComponent(name + ".sdp")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("missing fixture \(url.path)")
            return ""
        }
        return text
    }

    static func intent(of name: String) -> SDPIntent {
        subscribeOffers.contains(name) ? .subscribe : .publish
    }

    /// The error an offer is refused with, nil when it is accepted.
    static func offerError(_ sdp: String, _ intent: SDPIntent) -> SDPError? {
        do {
            _ = try SDPOffer(parsing: sdp, intent: intent)
            return nil
        } catch {
            return error
        }
    }

    static let local = LocalSDPParameters(
        iceUfrag: "sabha1",
        icePassword: "0123456789abcdefghijklmn",
        fingerprint: DTLSFingerprint(algorithm: "sha-256", value: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"),
        candidateIP: "203.0.113.7",
        candidatePort: 40000,
        sessionID: 42
    )
}

extension String {
    /// Applies a line-level edit to an SDP: `transform` sees each line without its CRLF.
    func editingLines(_ transform: (String) -> [String]) -> String {
        let lines = split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let trailing = lines.last == "" ? 1 : 0
        var out: [String] = []
        for line in lines.dropLast(trailing) { out += transform(line) }
        return out.joined(separator: "\r\n") + (trailing == 1 ? "\r\n" : "")
    }

    func removingLines(where predicate: (String) -> Bool) -> String {
        editingLines { predicate($0) ? [] : [$0] }
    }

    /// 1-based number of the first line that starts with `prefix`.
    func lineNumber(ofFirst prefix: String) -> Int? {
        split(separator: "\r\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix(prefix) }.map { $0 + 1 }
    }
}
