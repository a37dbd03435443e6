import Foundation

/// What hosts decide about a live room, kept while someone is in it (a room that empties and closes starts afresh):
/// whether it is locked, whether everyone may share a screen, who was made a co-host, who waits in the lobby and
/// whose hand is up, in order.
struct RoomControls {
    /// Why a participant waits instead of joining.
    enum WaitReason: String {
        /// The room has a lobby: a host admits or denies.
        case lobby
        /// The room waits for a host: everyone waiting goes in (or to the lobby) when one joins.
        case waitingForHost = "waiting-for-host"
    }

    /// Longest chat message, in characters.
    static let maximumChatLength = 2000
    /// Chat messages a participant may send in a burst; one more each second after that.
    static let chatBurst = 5
    /// Hand changes (raise or lower, own) a participant may make in a burst; one more each second after that.
    static let handBurst = 6
    /// Chat messages sent to a joiner.
    static let chatHistory = 100
    /// People who may wait in one room's lobby at once; more are refused, so a crowd of links cannot flood the hosts.
    static let maximumWaiting = 200

    var locked = false
    var screenShareAllowed = false
    /// Identities (lower case) a host made co-hosts: they stay hosts if they drop and join again.
    var coHosts: Set<String> = []
    /// Participants waiting, in arrival order, and why.
    var waiting: [(participant: String, reason: WaitReason)] = []
    /// Raised hands, first raised first.
    var hands: [(participant: String, at: Date)] = []

    var wire: MeetingWire.RoomControlsInfo {
        MeetingWire.RoomControlsInfo(locked: locked, screenShareAllowed: screenShareAllowed)
    }

    var handsWire: [MeetingWire.HandInfo] {
        hands.map { MeetingWire.HandInfo(participant: $0.participant, at: MeetingWire.timestamp($0.at)) }
    }
}
