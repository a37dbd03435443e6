import Foundation
import Logging
import MediaCore
import Testing
@testable import Signalling

/// A participant on a hard network: an offer with new ICE credentials restarts ICE on the same transport, and
/// `receive-video` lowers or stops the video it receives (docs/protocol.md).
@Suite struct MeetingRecoveryTests {
    typealias Hub = MeetingHubMediaTests

    /// The fixture offer with other ICE credentials, as a browser's offer after `restartIce()`.
    static func restartedOffer(_ name: String, ufrag: String, password: String) -> String {
        let offer = SDPFixtures.load(name)
        guard let oldUfrag = value("ice-ufrag", in: offer), let oldPassword = value("ice-pwd", in: offer) else { return offer }
        return offer.replacingOccurrences(of: "a=ice-ufrag:\(oldUfrag)\r\n", with: "a=ice-ufrag:\(ufrag)\r\n")
            .replacingOccurrences(of: "a=ice-pwd:\(oldPassword)\r\n", with: "a=ice-pwd:\(password)\r\n")
    }

    static func value(_ attribute: String, in sdp: String) -> String? {
        sdp.split(separator: "\r\n").first { $0.hasPrefix("a=\(attribute):") }.map { String($0.dropFirst(attribute.count + 3)) }
    }

    @Test func anOfferWithNewICECredentialsRestartsICEOnTheSameTransportAndKeepsTheTracks() async throws {
        try await Hub.withHub { hub in
            let alice = await Hub.join(hub, "alice")
            let bob = await Hub.join(hub, "bob")
            let first = try Hub.answer(await hub.offer(from: alice.id, sdp: SDPFixtures.load("chromium156-simulcast-offer")))
            let transport = try #require(await hub.transport(of: alice.id))
            let tracks = await hub.liveRooms()["r1"]?.first { $0.id == alice.id }?.tracks
            // The same credentials again (an ordinary renegotiation): nothing restarts.
            let again = try Hub.answer(await hub.offer(from: alice.id, sdp: SDPFixtures.load("chromium156-simulcast-offer")))
            #expect(Self.value("ice-ufrag", in: again) == Self.value("ice-ufrag", in: first))

            let restarted = try Hub.answer(await hub.offer(from: alice.id, sdp: Self.restartedOffer(
                "chromium156-simulcast-offer", ufrag: "NEW1", password: "abcdefghijklmnopqrstuvwxyz")))
            #expect(Self.value("ice-ufrag", in: restarted) != Self.value("ice-ufrag", in: first))
            #expect(Self.value("ice-pwd", in: restarted) != Self.value("ice-pwd", in: first))
            #expect(Self.value("fingerprint", in: restarted) == Self.value("fingerprint", in: first))
            #expect(await hub.transport(of: alice.id) == transport)
            #expect(await hub.liveRooms()["r1"]?.first { $0.id == alice.id }?.tracks == tracks)
            #expect(await Hub.received(bob, "track-unpublished").isEmpty)
            #expect(await Hub.received(alice, "error").isEmpty)
        }
    }

    @Test func audioOnlyStopsReceivingVideoAndAutoBringsItBack() async throws {
        try await Hub.withHub { hub in
            let alice = await Hub.join(hub, "alice")
            _ = try Hub.answer(await hub.offer(from: alice.id, sdp: SDPFixtures.load("chromium156-simulcast-offer")))
            let bob = await Hub.join(hub, "bob")
            _ = try Hub.answer(await hub.offer(from: bob.id, sdp: SDPFixtures.load("chromium156-recvonly-offer")))
            let video = try #require(await hub.liveRooms()["r1"]?.first { $0.id == alice.id }?.tracks.first { $0.kind == "video" })
            #expect(await hub.consumer(of: bob.id, track: video.id) != nil)

            await hub.receiveVideo(bob.id, mode: .off)
            let audioOnly = try #require(await Hub.messages(bob, "renegotiate").last?["receive"] as? [[String: Any]])
            #expect(audioOnly.map { $0["kind"] as? String } == ["audio"])
            let answer = try Hub.answer(await hub.offer(from: bob.id, sdp: SDPFixtures.load("chromium156-recvonly-offer")))
            #expect(await hub.consumer(of: bob.id, track: video.id) == nil)
            #expect(!answer.contains(video.id))

            await hub.receiveVideo(bob.id, mode: .auto)
            let everything = try #require(await Hub.messages(bob, "renegotiate", count: 2).last?["receive"] as? [[String: Any]])
            #expect(Set(everything.compactMap { $0["kind"] as? String }) == ["audio", "video"])
            _ = try Hub.answer(await hub.offer(from: bob.id, sdp: SDPFixtures.load("chromium156-recvonly-offer")))
            #expect(await hub.consumer(of: bob.id, track: video.id) != nil)
        }
    }

    @Test func lowModeCapsEveryVideoAtTheLowestLayerWhateverTheTileAsks() {
        let asked: [(spatial: Int, temporal: Int)?] = [nil, (0, 0), (1, 2), (2, 2)]
        for layers in asked {
            let low = MeetingHub.cappedLayers(layers, mode: .low)
            #expect(low.spatial == 0 && low.temporal == (layers?.temporal ?? 2))
            let auto = MeetingHub.cappedLayers(layers, mode: .auto)
            #expect(auto.spatial == (layers?.spatial ?? 2) && auto.temporal == (layers?.temporal ?? 2))
        }
    }
}
