import MediaCore
import Testing
@testable import Signalling

@Suite struct SessionRegistryTests {
    func publisher(_ id: String, identity: String = "alice", transport: UInt64) -> MediaSession {
        MediaSession(id: id, kind: .whip, room: "r", identity: identity, transport: TransportID(transport),
                     producers: [(.audio, ProducerID(1)), (.video, ProducerID(2))], watching: nil, watchingIdentity: nil)
    }

    func viewer(_ id: String, of publisher: String, transport: UInt64) -> MediaSession {
        MediaSession(id: id, kind: .whep, room: "r", identity: "bob", transport: TransportID(transport),
                     producers: [], watching: publisher, watchingIdentity: "alice")
    }

    @Test func endingAPublisherHandsBackItsViewersToClose() async {
        let registry = SessionRegistry()
        #expect(await registry.addPublisher(publisher("p1", transport: 10)) == nil)
        #expect(await registry.addViewer(viewer("v1", of: "p1", transport: 11)))
        #expect(await registry.addViewer(viewer("v2", of: "p1", transport: 12)))
        #expect(await registry.counts().sessions[.whep] == 2)

        let removed = await registry.remove(transport: TransportID(10))
        #expect(removed?.session.id == "p1")
        #expect(Set(removed?.viewers.map(\.id) ?? []) == ["v1", "v2"])
        #expect(await registry.counts().sessions.values.reduce(0, +) == 0)
        #expect(await registry.remove(transport: TransportID(11)) == nil, "viewers are gone with their publisher")
    }

    @Test func aTokenHoldsAtMostItsLimitOfSessionsAndGetsThemBackWhenTheyEnd() async {
        let registry = SessionRegistry()
        #expect(await registry.reserve(token: "t1", limit: 2))
        #expect(await registry.reserve(token: "t1", limit: 2))
        #expect(await registry.reserve(token: "t1", limit: 2) == false)
        #expect(await registry.reserve(token: "t2", limit: 2), "another token has its own allowance")
        var held = publisher("p1", transport: 10)
        held.tokenKey = "t1"
        _ = await registry.addPublisher(held)
        var watching = viewer("v1", of: "p1", transport: 11)
        watching.tokenKey = "t1"
        #expect(await registry.addViewer(watching))
        // Ending the publisher ends its viewer: both places come back.
        _ = await registry.remove(id: "p1")
        #expect(await registry.sessions(token: "t1") == 0)
        #expect(await registry.reserve(token: "t1", limit: 2))
        await registry.release(token: "t1")
        await registry.release(token: "t1")  // more releases than reservations change nothing
        #expect(await registry.sessions(token: "t1") == 0)
    }

    @Test func aViewerOfAVanishedPublisherIsRefused() async {
        let registry = SessionRegistry()
        #expect(await registry.addViewer(viewer("v1", of: "p-gone", transport: 11)) == false)
    }

    @Test func publishingAgainWithTheSameIdentityReplacesTheOldSession() async {
        let registry = SessionRegistry()
        _ = await registry.addPublisher(publisher("p1", transport: 10))
        let replaced = await registry.addPublisher(publisher("p2", transport: 20))
        #expect(replaced?.id == "p1")
        #expect(await registry.publisher(room: "r", identity: "alice")?.id == "p2")
        // Removing the replaced one does not unregister the new publisher.
        _ = await registry.remove(id: "p1")
        #expect(await registry.publisher(room: "r", identity: "alice")?.id == "p2")
    }
}
