import Foundation
import Testing
@testable import Signalling

/// Requests between nodes (relays carry SRTP keys) are accepted only when signed with the cluster's secret, for this
/// method, path and body, and recently.
struct ClusterSignatureTests {
    let signer = ClusterSignature(secret: Array("a cluster secret of thirty-two b".utf8))
    let body = Array(#"{"room":"review","publisher":"collector"}"#.utf8)
    let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test func aSignedRequestIsAcceptedAsItWasSigned() {
        let header = signer.sign(method: "POST", path: "/cluster/relays", body: body, now: now)
        #expect(header.hasPrefix("t=1780000000,v1="))
        #expect(signer.verify(header, method: "POST", path: "/cluster/relays", body: body, now: now.addingTimeInterval(5)))
    }

    @Test func anyChangeToTheBodyMethodOrPathIsRefused() {
        let header = signer.sign(method: "POST", path: "/cluster/relays", body: body, now: now)
        #expect(!signer.verify(header, method: "POST", path: "/cluster/relays", body: body + [0x20], now: now))
        #expect(!signer.verify(header, method: "DELETE", path: "/cluster/relays", body: body, now: now))
        #expect(!signer.verify(header, method: "POST", path: "/cluster/relays/x", body: body, now: now))
    }

    @Test func anotherClustersSecretAnOldSignatureOrGarbageIsRefused() {
        let other = ClusterSignature(secret: Array("another cluster's secret, 32 byt".utf8))
        let header = other.sign(method: "GET", path: "/cluster/relays/1", body: [], now: now)
        #expect(!signer.verify(header, method: "GET", path: "/cluster/relays/1", body: [], now: now))
        let old = signer.sign(method: "GET", path: "/cluster/relays/1", body: [], now: now)
        #expect(!signer.verify(old, method: "GET", path: "/cluster/relays/1", body: [], now: now.addingTimeInterval(31)))
        #expect(!signer.verify(old, method: "GET", path: "/cluster/relays/1", body: [], now: now.addingTimeInterval(-31)))
        for garbage in [nil, "", "t=,v1=", "t=1780000000", "v1=00", "t=1780000000,v1=zz", "t=1780000000,v1=" + String(repeating: "0", count: 64),
                        "t=99999999999999999999999,v1=00", String(repeating: "t=1,", count: 1000)] {
            #expect(!signer.verify(garbage, method: "GET", path: "/cluster/relays/1", body: [], now: now))
        }
    }
}
