import MediaCore

/// What the admin API, the metrics and the tests read of the hub: counts, the live rooms and who is in them, and the
/// media objects behind a participant's tracks.
extension MeetingHub {

    public struct Snapshot: Sendable {
        public var rooms: Int
        public var participants: Int
    }

    public func snapshot() -> Snapshot {
        Snapshot(rooms: rooms.count, participants: byID.count)
    }

    /// A participant as the admin API shows it (`GET /api/rooms/{room}`); absent values are `null`.
    public struct ParticipantSummary: Sendable, Codable, Equatable {
        public var id: String
        public var identity: String
        public var name: String
        public var role: String
        public var connected: Bool
        /// The name it typed, when it differs from the token's.
        @Nullable public var chosenName: String?
        /// The id of the link (token) it joined with; `DELETE /api/rooms/{room}/links/{link}` withdraws it.
        @Nullable public var link: String?
        public var tracks: [MeetingWire.TrackInfo]
    }

    /// Rooms with someone in them, and their participants in join order.
    public func liveRooms() -> [String: [ParticipantSummary]] {
        rooms.mapValues { list in
            list.map { ParticipantSummary(id: $0.id, identity: $0.identity, name: $0.name, role: $0.info.role,
                                          connected: $0.connected, chosenName: $0.chosenName, link: $0.tokenID, tracks: trackInfos(of: $0)) }
        }
    }

    /// The producer behind a published track, a participant's consumer of a track and its transport (tests, diagnostics).
    func producer(ofTrack track: String) -> ProducerID? {
        byID.values.lazy.compactMap { $0.published.values.first { $0.id == track }?.producer }.first
    }

    func consumer(of id: String, track: String) -> ConsumerID? {
        byID[id]?.receiving.values.first { $0.track == track }?.consumer
    }

    func transport(of id: String) -> TransportID? {
        byID[id]?.transport?.id
    }

    /// The people kept out of `room`, as hosts see them.
    func removedList(_ room: String) -> [MeetingWire.RemovedInfo] {
        (access?.removals(from: room) ?? []).map { MeetingWire.RemovedInfo(identity: $0.identity, name: $0.name) }
    }

    /// Tells the hosts of `room` who is kept out now.
    func sendRemovedList(_ room: String) {
        sendToHosts(room, MeetingWire.encode("removed-list", ["removed": removedList(room)]))
    }
}
