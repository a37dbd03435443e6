import Foundation
import Testing
@testable import Signalling

/// Hosts of a scheduled meeting see the invited list with the answers; nobody else does.
@Suite struct MeetingInvitedTests {
    typealias Hub = MeetingHubMediaTests

    static func join(_ hub: MeetingHub, _ identity: String, role: ParticipantRole) async -> Hub.Member {
        let outbox = SocketOutbox(limit: 1 << 20)
        let inbox = Hub.Inbox()
        Task { for await text in outbox.stream { outbox.taken(text); await inbox.add(text) } }
        let token = AccessToken(identity: identity, room: "r1", role: role, lifetime: 600)
        let (id, _) = try! await hub.join(token: token, name: identity, resume: nil, outbox: outbox)
        return Hub.Member(id: id, inbox: inbox)
    }

    final class Answers: @unchecked Sendable {
        private let lock = NSLock()
        private var answer = "needs-action"
        var current: String {
            get { lock.withLock { answer } }
            set { lock.withLock { answer = newValue } }
        }
    }

    @Test func aHostsJoinedCarriesTheAnswersAndAChangeReachesHostsOnly() async throws {
        try await Hub.withHub { hub in
            let answers = Answers()
            await hub.setInvitedList { room in
                room == "r1" ? [MeetingWire.InvitedInfo(identity: "asha@x.in", name: "Asha", role: "participant",
                                                        answer: answers.current, comment: nil)] : []
            }
            let host = await Self.join(hub, "collector@x.in", role: .host)
            let asha = await Self.join(hub, "asha@x.in", role: .participant)
            let joined = try #require(await Hub.messages(host, "joined").first)
            let invited = try #require(joined["invited"] as? [[String: Any]])
            #expect(invited.map { $0["answer"] as? String } == ["needs-action"])
            #expect(await Hub.messages(asha, "joined").first?["invited"] == nil)

            answers.current = "accepted"
            await hub.sendInvited("r1")
            let pushed = try #require(await Hub.messages(host, "invited").first?["invited"] as? [[String: Any]])
            #expect(pushed.map { $0["answer"] as? String } == ["accepted"])
            #expect(await Hub.received(asha, "invited").isEmpty)
        }
    }
}
