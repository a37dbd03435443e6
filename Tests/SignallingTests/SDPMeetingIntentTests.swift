import Testing
@testable import Signalling
import MediaCore

/// A meeting participant's one connection: sendonly m-lines publish, recvonly ones carry others' tracks.
struct SDPMeetingIntentTests {
    @Test(arguments: SDPFixtures.all)
    func everyBrowserOfferIsUsableInAMeetingAndAnsweredPerLine(_ fixture: String) throws {
        let offer = try SDPOffer(parsing: SDPFixtures.load(fixture), intent: .meeting)
        let accepted = offer.media.filter(\.accepted)
        #expect(!accepted.isEmpty)
        let receiving = accepted.filter { !$0.direction.sends }
        let track = OutgoingTrack(ssrc: 1234, cname: "p-me", streamID: "p-other", trackID: "t-1")
        let sending = Dictionary(uniqueKeysWithValues: receiving.prefix(1).map { ($0.mid, track) })
        let answer = try SessionDescription(parsing: offer.answer(local: SDPFixtures.local, sending: sending))
        for media in accepted {
            let section = try #require(answer.media.first { $0.attributes.first(named: "mid")?.value == media.mid })
            if media.direction.sends {
                #expect(section.attributes.contains(named: "recvonly"), "\(fixture) mid \(media.mid) publishes")
                #expect(media.extensions.mid != 0 || media.offeredExtensions.mid == 0)
            } else if sending[media.mid] != nil {
                #expect(section.attributes.contains(named: "sendonly"))
                #expect(section.attributes.first(named: "msid")?.value == "p-other t-1")
            } else {
                #expect(section.attributes.contains(named: "inactive"), "free recvonly m-lines stay open, inactive")
            }
        }
    }
}
