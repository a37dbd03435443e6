import Foundation
import Logging
import MediaCore
import Testing
@testable import Signalling

/// The control plane's side of the media events: a transport the media layer closed ends its WHIP/WHEP session (a
/// publisher's, its viewers' too) or ends its meeting participant's media, not its place; active speakers reach the meeting.
@Suite struct MediaEventLoopTests {
    static func withLoop(_ body: (MediaEventLoop, MeetingHub, SessionRegistry, MediaEngine) async throws -> Void) async throws {
        try await MeetingHubMediaTests.withEngine { engine in
            let registry = SessionRegistry()
            let hub = MeetingHub(engine: engine, logger: Logger(label: "test"))
            let loop = MediaEventLoop(sessions: SessionService(engine: engine, registry: registry, logger: Logger(label: "test")), meetings: hub)
            try await body(loop, hub, registry, engine)
        }
    }

    /// A transport of the engine's own (ids carry their worker), which nobody will ever connect to.
    static func transport(_ engine: MediaEngine, _ label: String) async throws -> TransportID {
        try await engine.createTransport(TransportParameters(
            room: "r", label: label, remoteUfrag: "abcd", remotePassword: "abcdefghijklmnopqrstuvwx",
            remoteFingerprints: [DTLSFingerprint(algorithm: "sha-256", value: (0..<32).map { _ in "AB" }.joined(separator: ":"))])).id
    }

    /// The engine's open transports, once its workers have published the count (at most two seconds).
    static func transports(_ engine: MediaEngine, settlingAt expected: Int) async -> Int {
        for _ in 0..<200 {
            if await engine.stats().transports == expected { return expected }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await engine.stats().transports
    }

    @Test func aClosedPublisherTransportEndsItsSessionAndItsViewers() async throws {
        try await Self.withLoop { loop, _, registry, engine in
            let publisher = try await Self.transport(engine, "whip:alice")
            let viewer = try await Self.transport(engine, "whep:bob")
            #expect(await Self.transports(engine, settlingAt: 2) == 2)
            _ = await registry.addPublisher(MediaSession(id: "p1", kind: .whip, room: "r", identity: "alice", transport: publisher,
                                                         producers: [], watching: nil, watchingIdentity: nil))
            #expect(await registry.addViewer(MediaSession(id: "v1", kind: .whep, room: "r", identity: "bob", transport: viewer,
                                                          producers: [], watching: "p1", watchingIdentity: "alice")))
            await loop.handle(.transportClosed(publisher, .consentExpired))
            #expect(await registry.session(id: "p1") == nil)
            #expect(await registry.session(id: "v1") == nil)
            // The viewer's transport is closed by the loop; the publisher's (still open here) is the media layer's own.
            #expect(await Self.transports(engine, settlingAt: 1) == 1)
        }
    }

    @Test func aClosedMeetingTransportKeepsItsParticipantInTheMeetingAndUnpublishesItsTracks() async throws {
        try await Self.withLoop { loop, hub, _, engine in
            let alice = await MeetingHubMediaTests.join(hub, "alice")
            let bob = await MeetingHubMediaTests.join(hub, "bob")
            _ = try MeetingHubMediaTests.answer(await hub.offer(from: alice.id, sdp: SDPFixtures.load("chromium156-simulcast-offer")))
            let transport = try #require(await hub.transport(of: alice.id))
            await engine.closeTransport(transport)   // as the media layer does when consent expires
            await loop.handle(.transportClosed(transport, .consentExpired))
            let closed = await MeetingHubMediaTests.messages(alice, "transport-closed")
            #expect(closed.first?["reason"] as? String == "consentExpired")
            #expect(await MeetingHubMediaTests.received(alice, "error").isEmpty)
            #expect(await MeetingHubMediaTests.messages(bob, "track-unpublished", count: 2).count == 2)
            #expect(await MeetingHubMediaTests.received(bob, "participant-left").isEmpty)
            #expect(await hub.liveRooms()["r1"]?.map(\.id) == [alice.id, bob.id])
            #expect(await hub.liveRooms()["r1"]?.first?.tracks.isEmpty == true)
            #expect(await hub.transport(of: alice.id) == nil)

            // A late offer of the old peer connection (the same certificate) is told again; it opens nothing.
            let stale = await hub.offer(from: alice.id, sdp: SDPFixtures.load("chromium156-simulcast-offer"))
            #expect(stale.count == 1 && stale.first?.contains("\"type\":\"transport-closed\"") == true)
            #expect(await hub.transport(of: alice.id) == nil)

            // Her next offer, from a new peer connection (another certificate), opens a new transport and publishes again.
            let newConnection = SDPFixtures.load("chromium156-simulcast-offer").replacingOccurrences(
                of: "a=fingerprint:sha-256 3D:91:19", with: "a=fingerprint:sha-256 3E:91:19")
            _ = try MeetingHubMediaTests.answer(await hub.offer(from: alice.id, sdp: newConnection))
            let reopened = try #require(await hub.transport(of: alice.id))
            #expect(reopened != transport)
            #expect(await MeetingHubMediaTests.messages(bob, "track-published", count: 4).count == 4)
        }
    }

    @Test func theActiveSpeakerReachesTheMeeting() async throws {
        try await Self.withLoop { loop, hub, _, _ in
            let alice = await MeetingHubMediaTests.join(hub, "alice")
            let bob = await MeetingHubMediaTests.join(hub, "bob")
            _ = try MeetingHubMediaTests.answer(await hub.offer(from: alice.id, sdp: SDPFixtures.load("chromium156-simulcast-offer")))
            let audio = try #require(await hub.liveRooms()["r1"]?.first { $0.id == alice.id }?.tracks.first { $0.kind == "audio" })
            await loop.handle(.activeSpeaker(room: "r1", producer: await hub.producer(ofTrack: audio.id)))
            #expect(await MeetingHubMediaTests.messages(bob, "active-speaker").first?["participant"] as? String == alice.id)
        }
    }
}
