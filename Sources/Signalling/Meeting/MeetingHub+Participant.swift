import MediaCore

/// A participant as the hub holds it: who it is, its socket's outbox, and its media (what it publishes, what it
/// receives on which mid).
extension MeetingHub {
    struct PublishedTrack {
        var id: String
        var mid: String
        var kind: MediaKind
        var producer: ProducerID
        var muted = false
        /// "microphone", "camera" or "screen", as the client declared it.
        var source: String
    }

    struct ReceivingSlot {
        var track: String
        var publisher: String
        var kind: MediaKind
        var consumer: ConsumerID
        var ssrc: UInt32
        var rtxSSRC: UInt32
        /// The layers the participant's last `video-size` for this track asked for; nil before the first.
        var askedLayers: (spatial: Int, temporal: Int)? = nil
    }

    /// A peer's ICE username fragment and password (RFC 8445 section 5.3), from its offer.
    struct ICECredentials: Equatable {
        var ufrag: String
        var password: String
    }

    final class Participant {
        let id: String
        let room: String
        let identity: String
        /// The name the token gives (its identity when it gives none): what others see it as, whatever it says.
        let name: String
        /// The name the participant typed, when it differs: shown to others marked as self-chosen, never instead.
        let chosenName: String?
        /// The token's role, or host once a host made it a co-host.
        var role: ParticipantRole
        /// The id (`jti`) of the token it joined with, so an administrator can withdraw that one link.
        let tokenID: String?
        var outbox: SocketOutbox
        /// Lets a dropped WebSocket come back within the grace period and keep its place.
        let resumeSecret = MeetingHub.randomHex(16) + MeetingHub.randomHex(16)
        var connected = true
        var connectionEpoch = 0
        var transport: TransportDescription?
        /// The node serving its media when not this one (placed elsewhere): `transport` is that node's.
        var mediaNode: String?
        /// Whether that node's transport was made for publishing (a viewer's is receive-only).
        var mediaPublishes = false
        /// The ICE credentials of the offer that opened or last restarted the transport.
        var remoteCredentials: ICECredentials?
        /// The DTLS fingerprints of the offer that opened the transport (its peer connection's certificate).
        var remoteFingerprints: [DTLSFingerprint] = []
        /// Why the media layer closed the transport, and its peer connection's fingerprints, until an offer from a new
        /// peer connection opens another: offers from the old one get `transport-closed` again, and so does a resume.
        var closedTransport: (reason: String, fingerprints: [DTLSFingerprint])?
        var localSessionID = UInt64.random(in: 1...(UInt64.max >> 2))
        var published: [String: PublishedTrack] = [:]
        /// Kinds the participant muted; tracks published later start muted too.
        var mutedKinds: Set<MediaKind> = []
        var receiving: [String: ReceivingSlot] = [:]
        /// What video it wants to receive (`receive-video`).
        var videoMode: MeetingHub.VideoReceiveMode = .auto
        /// Chat messages and hand changes it may send now.
        var chatAllowance = RateAllowance(burst: RoomControls.chatBurst)
        var handAllowance = RateAllowance(burst: RoomControls.handBurst)

        init(id: String, room: String, identity: String, name: String, chosenName: String?, role: ParticipantRole, tokenID: String?,
             outbox: SocketOutbox) {
            self.id = id
            self.room = room
            self.identity = identity
            self.name = name
            self.chosenName = chosenName
            self.role = role
            self.tokenID = tokenID
            self.outbox = outbox
        }

        var info: MeetingWire.ParticipantInfo {
            MeetingWire.ParticipantInfo(id: id, identity: identity, name: name, role: role == .publisher ? "participant" : role.rawValue,
                                        chosenName: chosenName)
        }

        func send(_ text: String) { outbox.send(text) }
    }
}
