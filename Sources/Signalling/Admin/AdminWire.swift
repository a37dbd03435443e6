import Foundation

/// JSON shapes of the admin API (docs/http-api.md, "Admin API"), shared by the server and `sabha room`. Synthesized
/// `Codable`; `@Nullable` optionals are written as `null` so that every row has the same keys.
public enum AdminWire {
    public struct CreateRoom: Codable, Sendable {
        public var name: String?
        public var title: String?
        /// Joiners wait until a host admits them (default false).
        public var lobby: Bool?
        /// Joiners wait until a host is in the meeting (default false).
        public var waitForHost: Bool?
        public init(name: String? = nil, title: String? = nil, lobby: Bool? = nil, waitForHost: Bool? = nil) {
            self.name = name
            self.title = title
            self.lobby = lobby
            self.waitForHost = waitForHost
        }
    }

    /// `PUT /api/rooms/{room}`: the options to change; absent ones stay as they are.
    public struct RoomOptions: Codable, Sendable {
        public var lobby: Bool?
        public var waitForHost: Bool?
    }

    public struct CreatedRoom: Codable, Sendable {
        public var name: String
        public var title: String
        public var createdAt: Date
        public var url: String
        public var lobby: Bool
        public var waitForHost: Bool
    }

    /// `GET /api/rooms/{room}/chat`: the room's chat, oldest first.
    public struct Chat: Codable, Sendable {
        public var room: String
        public var messages: [MeetingWire.ChatInfo]
    }

    /// A row of `GET /api/rooms`. Rooms that only exist because people are in them have no `createdAt`.
    public struct RoomSummary: Codable, Sendable {
        public var name: String
        public var title: String
        @Nullable public var createdAt: Date?
        public var source: String
        @Nullable public var endedAt: Date?
        /// Set while the room is closed (ended by a host or an administrator, until `POST .../reopen`).
        @Nullable public var closedAt: Date?
        /// How many are in the meeting now.
        public var participants: Int
        public var url: String
        public var lobby: Bool
        public var waitForHost: Bool
    }

    /// `GET /api/rooms/{room}`: the room and who is in it now, with their tracks.
    public struct RoomDetail: Codable, Sendable {
        public var name: String
        public var title: String
        @Nullable public var createdAt: Date?
        public var source: String
        @Nullable public var endedAt: Date?
        @Nullable public var closedAt: Date?
        public var url: String
        public var lobby: Bool
        public var waitForHost: Bool
        public var participants: [MeetingHub.ParticipantSummary]
        /// Who a host removed and who stays out until let back in.
        public var removed: [RemovedPerson]
    }

    public struct Ended: Codable, Sendable {
        public var ended: Bool
        /// How many were in the meeting and were sent `meeting-ended`.
        public var participants: Int
        /// The room stays closed until `POST /api/rooms/{room}/reopen`.
        public var closed: Bool?
    }

    /// What a page about to join is told (`GET /api/rooms/{room}/notice`).
    public struct Notice: Codable, Sendable {
        public var recording: Bool
    }

    public struct Reopened: Codable, Sendable {
        public var name: String
        /// False when the room was not closed.
        public var reopened: Bool
    }

    /// One person kept out of a room.
    public struct RemovedPerson: Codable, Sendable {
        public var identity: String
        public var name: String
        public var removedAt: Date
        /// The host's identity, or "admin".
        public var removedBy: String

        public init(_ removal: RoomRemoval) {
            identity = removal.identity
            name = removal.name
            removedAt = removal.removedAt
            removedBy = removal.removedBy
        }
    }

    public struct Removed: Codable, Sendable {
        public var removed: [RemovedPerson]
    }

    public struct Readmitted: Codable, Sendable {
        public var identity: String
        public var readmitted: Bool
    }

    public struct Revoked: Codable, Sendable {
        public var id: String
        public var revoked: Bool
        /// Participants and WHIP/WHEP sessions that were in with the link and were sent out.
        public var disconnected: Int
    }

    public struct LinkRequest: Codable, Sendable {
        public struct Participant: Codable, Sendable {
            public var identity: String
            public var name: String?
            /// "host", "participant" or "viewer".
            public var role: String
            public init(identity: String, name: String? = nil, role: String) {
                self.identity = identity
                self.name = name
                self.role = role
            }
        }
        public var participants: [Participant]
        /// Seconds the links stay valid (default one day, at most 30 days).
        public var ttl: Int?
        public init(participants: [Participant], ttl: Int? = nil) {
            self.participants = participants
            self.ttl = ttl
        }
    }

    public struct Links: Codable, Sendable {
        public struct Link: Codable, Sendable {
            /// The link's own id (its token's `jti`): `DELETE /api/rooms/{room}/links/{id}` withdraws it.
            public var id: String
            public var identity: String
            public var role: String
            public var token: String
            public var url: String
            public var expiresAt: Date
        }
        public var links: [Link]
    }

    /// Dates as ISO 8601, keys sorted.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
