import Foundation

/// Who was invited to a scheduled meeting and what they answered: hosts see it beside who is present.
extension MeetingHub {
    /// Where the invited list of a room comes from (the scheduler's store); set once at start.
    public func setInvitedList(_ list: @escaping @Sendable (_ room: String) -> [MeetingWire.InvitedInfo]) {
        invitedList = list
    }

    /// The room's invited people, as hosts see them (empty for rooms that are not scheduled meetings).
    func invited(_ room: String) -> [MeetingWire.InvitedInfo] {
        invitedList?(room) ?? []
    }

    /// Answers changed: the room's hosts get the new list (`invited`).
    public func sendInvited(_ room: String) {
        guard rooms[room]?.contains(where: { $0.role == .host }) == true else { return }
        sendToHosts(room, MeetingWire.encode("invited", ["invited": invited(room)]))
    }
}
