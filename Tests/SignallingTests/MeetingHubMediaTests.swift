import Foundation
import Logging
import MediaCore
import Testing
@testable import Signalling

/// The hub's media paths with a real (loopback, never connected) media engine: simulcast and RTX reach the
/// answers, video-size is validated, and active-speaker and layers events reach the right participants.
@Suite struct MeetingHubMediaTests {
    /// Collects what the hub sends one participant.
    actor Inbox {
        private var texts: [String] = []
        func add(_ text: String) { texts.append(text) }
        func all() -> [String] { texts }
    }

    struct Member {
        var id: String
        var inbox: Inbox
    }

    static func join(_ hub: MeetingHub, _ identity: String, room: String = "r1", role: ParticipantRole = .participant) async -> Member {
        let outbox = SocketOutbox(limit: 1 << 20)
        let inbox = Inbox()
        Task { for await text in outbox.stream { outbox.taken(text); await inbox.add(text) } }
        let token = AccessToken(identity: identity, room: room, role: role, lifetime: 600)
        let (id, _) = try! await hub.join(token: token, name: identity, resume: nil, outbox: outbox)
        return Member(id: id, inbox: inbox)
    }

    /// The member's messages of `type`, decoded.
    static func received(_ member: Member, _ type: String) async -> [[String: Any]] {
        await member.inbox.all().compactMap { text in
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        }.filter { $0["type"] as? String == type }
    }

    /// Waits up to two seconds for `count` messages of `type`.
    static func messages(_ member: Member, _ type: String, count: Int = 1) async -> [[String: Any]] {
        for _ in 0..<200 {
            let found = await received(member, type)
            if found.count >= count { return found }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await received(member, type)
    }

    /// A started media engine on loopback that nobody connects to, shut down after `body`.
    static func withEngine(_ body: (MediaEngine) async throws -> Void) async throws {
        var configuration = MediaEngineConfiguration()
        configuration.basePort = 0
        configuration.poolSize = 256
        // Nobody ever connects: keep the transports (and their producers) however slowly a loaded machine runs us.
        configuration.consentTimeout = 3600
        configuration.logHandler = { _ in }
        let engine = try MediaEngine(configuration: configuration)
        try engine.start()
        do {
            try await body(engine)
        } catch {
            await engine.shutdown()
            throw error
        }
        await engine.shutdown()
    }

    static func withHub(_ body: (MeetingHub) async throws -> Void) async throws {
        try await withEngine { engine in
            try await body(MeetingHub(engine: engine, logger: Logger(label: "test")))
        }
    }

    static func answer(_ replies: [String]) throws -> String {
        let first = try #require(replies.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(first["type"] as? String == "answer")
        return try #require(first["sdp"] as? String)
    }

    @Test func simulcastPublisherAndRTXViewerAndTheirEvents() async throws {
        try await Self.withHub { hub in
            let alice = await Self.join(hub, "alice")
            let publishAnswer = try Self.answer(await hub.offer(from: alice.id, sdp: SDPFixtures.load("chromium156-simulcast-offer")))
            #expect(publishAnswer.contains("a=simulcast:recv q;h;f\r\n"))
            #expect(publishAnswer.contains("a=rid:q recv\r\n"))
            #expect(publishAnswer.contains("a=fmtp:97 apt=96\r\n"))

            let bob = await Self.join(hub, "bob")
            let viewAnswer = try Self.answer(await hub.offer(from: bob.id, sdp: SDPFixtures.load("chromium156-recvonly-offer")))
            let parsed = try SessionDescription(parsing: viewAnswer)
            let group = try #require(parsed.media[1].attributes.first(named: "ssrc-group")?.value, "\(viewAnswer)")
            #expect(group.hasPrefix("FID "))
            #expect(group.split(separator: " ").count == 3)
            #expect(!parsed.media[0].attributes.contains(named: "ssrc-group"))

            let tracks = try #require(await hub.liveRooms()["r1"]?.first { $0.id == alice.id }?.tracks)
            let video = try #require(tracks.first { $0.kind == "video" })
            let audio = try #require(tracks.first { $0.kind == "audio" })
            #expect(video.source == "camera" && audio.source == "microphone")

            // video-size: known track → nothing to say; unknown track → ignored; bad numbers → error.
            #expect(await hub.videoSize(bob.id, track: video.id, width: 320, height: 180) == nil)
            #expect(await hub.videoSize(bob.id, track: video.id, width: 0, height: 0) == nil)
            #expect(await hub.videoSize(bob.id, track: "t-unknown", width: 320, height: 180) == nil)
            #expect(await hub.videoSize(bob.id, track: audio.id, width: 320, height: 180) == nil)
            for (width, height) in [(-1, 10), (10, -1), (100_000, 10), (10, Int.max)] {
                let error = try #require(await hub.videoSize(bob.id, track: video.id, width: width, height: height))
                #expect(error.contains("\"code\":\"bad-video-size\"") && error.contains("\"fatal\":false"))
            }

            // active speaker: alice's microphone producer → everyone hears it is alice; repeats are not resent.
            let producer = try #require(await hub.producer(ofTrack: audio.id))
            await hub.activeSpeaker(room: "r1", producer: producer)
            await hub.activeSpeaker(room: "r1", producer: producer)
            await hub.activeSpeaker(room: "r1", producer: nil)
            for member in [alice, bob] {
                let speakers = await Self.messages(member, "active-speaker", count: 2)
                #expect(speakers.count == 2)
                #expect(speakers.first?["participant"] as? String == alice.id)
                #expect(speakers.last?["participant"] is NSNull)
            }
            await hub.activeSpeaker(room: "elsewhere", producer: producer)

            // layers: only the viewer of that consumer is told.
            let consumer = try #require(await hub.consumer(of: bob.id, track: video.id))
            #expect(await hub.consumerLayersChanged(consumer, spatial: 1, temporal: 2))
            #expect(await hub.consumerLayersChanged(ConsumerID(UInt64.max), spatial: 0, temporal: 0) == false)
            let layers = await Self.messages(bob, "layers")
            #expect(layers.count == 1)
            #expect(layers.first?["track"] as? String == video.id)
            #expect(layers.first?["spatial"] as? Int == 1 && layers.first?["temporal"] as? Int == 2)
            #expect(await Self.received(alice, "layers").isEmpty)
        }
    }

    @Test func tileHeightPicksTheLayers() {
        let table: [(width: Int, height: Int, spatial: Int, temporal: Int)] = [
            (0, 0, 0, 0), (320, 0, 0, 0), (320, 180, 0, 2), (356, 200, 0, 2), (640, 201, 1, 2),
            (640, 360, 1, 2), (711, 400, 1, 2), (1280, 401, 2, 2), (1920, 1080, 2, 2),
        ]
        for row in table {
            let layers = MeetingHub.preferredLayers(width: row.width, height: row.height)
            #expect(layers.spatial == row.spatial && layers.temporal == row.temporal, "\(row)")
        }
    }
}
