import MediaCore
import Testing
@testable import Signalling

/// When the hub asks a participant for another offer: only when a track it should receive found no place and no
/// recvonly m-line of its kind was left free to take it.
@Suite struct MeetingNegotiatorTests {
    static func wanted(_ id: String, _ kind: MediaKind) -> MeetingNegotiator.WantedTrack {
        (MeetingHub.PublishedTrack(id: id, mid: "0", kind: kind, producer: ProducerID(1), source: kind == .audio ? "microphone" : "camera"), "p-x")
    }

    @Test func asksForAnotherOfferOnlyWhenAWantedTrackHasNoPlace() {
        let audio = Self.wanted("t-a", .audio)
        let video = Self.wanted("t-v", .video)
        let rows: [(wanted: [MeetingNegotiator.WantedTrack], assigned: Set<String>, free: [MediaKind: Int], again: Bool)] = [
            ([], [], [:], false),
            ([audio, video], ["t-a", "t-v"], [:], false),
            ([audio, video], ["t-a"], [:], true),
            ([audio, video], ["t-a"], [.audio: 2], true),
            ([audio, video], ["t-a"], [.video: 1], false),
            ([audio, video], [], [.audio: 1], true),
        ]
        for row in rows {
            let receiving = MeetingNegotiator.Receiving(assigned: row.assigned, freeMids: row.free)
            #expect(MeetingNegotiator.needsAnotherOffer(wanted: row.wanted, receiving) == row.again, "\(row.assigned) \(row.free)")
        }
    }
}
