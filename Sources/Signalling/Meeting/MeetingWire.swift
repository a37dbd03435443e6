import Foundation
import HummingbirdWebSocket
import NIOWebSocket

/// JSON shapes of the meeting protocol (docs/protocol.md), version 1.
public enum MeetingWire {
    public static let version = 1
    /// Largest message (one frame): an `offer` carries the SDP, up to `SessionDescription.maximumSize`, JSON-escaped.
    public static let maximumMessageSize = 1024 * 1024

    /// Close codes (RFC 6455 section 7.4.2, the private range 4000-4999: 4000 + the nearest HTTP status) for
    /// connections the server ends because of a limit. A fatal `error` with the same name goes first when it can.
    public enum CloseCode {
        /// No `join` within `--join-timeout`.
        public static let joinTimeout = WebSocketErrorCode.unknown(4408)
        /// The client fell more than `--websocket-outbox` bytes behind reading.
        public static let slowReader = WebSocketErrorCode.unknown(4413)
        /// The client's address already holds `--max-websockets-per-address` connections.
        public static let tooManyConnections = WebSocketErrorCode.unknown(4429)
    }

    public struct ParticipantInfo: Codable, Sendable, Equatable {
        public var id: String
        public var identity: String
        /// From the token (its identity when it has no name): who this is.
        public var name: String
        public var role: String
        /// What the participant typed as its name, when it differs from `name`: clients show it marked as
        /// self-chosen, next to `name`, never in its place. Absent otherwise.
        public var chosenName: String?
    }

    public struct TrackInfo: Codable, Sendable, Equatable {
        public var id: String
        public var participant: String
        public var kind: String
        public var source: String
        public var muted: Bool
    }

    /// Someone a host removed, as the hosts' list shows them (`joined.removed`, `removed-list`).
    /// Someone invited to the room's scheduled meeting, and their answer (`joined.invited`, `invited`; hosts only).
    public struct InvitedInfo: Codable, Sendable, Equatable {
        /// Their e-mail address: the identity their personal link joins with.
        public var identity: String
        public var name: String
        public var role: String
        /// needs-action, accepted, declined, tentative or delegated.
        public var answer: String
        public var comment: String?

        public init(identity: String, name: String, role: String, answer: String, comment: String?) {
            self.identity = identity
            self.name = name
            self.role = role
            self.answer = answer
            self.comment = comment
        }
    }

    public struct RemovedInfo: Codable, Sendable, Equatable {
        public var identity: String
        public var name: String
    }

    /// What hosts decided about the room (`joined.controls`, `room-controls`).
    public struct RoomControlsInfo: Codable, Sendable, Equatable {
        public var locked: Bool
        public var screenShareAllowed: Bool
    }

    /// A raised hand (`joined.hands`, `hands`), first raised first.
    public struct HandInfo: Codable, Sendable, Equatable {
        public var participant: String
        public var at: String
    }

    /// Someone in the lobby, as hosts see them (`joined.waiting`, `lobby-waiting`).
    public struct WaitingInfo: Codable, Sendable, Equatable {
        public var participant: ParticipantInfo
        public var reason: String
    }

    /// A chat message as clients get it (`chat`, `joined.chat`).
    public struct ChatInfo: Codable, Sendable, Equatable {
        public var id: Int64
        public var from: String
        public var identity: String
        public var name: String
        public var text: String
        public var at: String
    }

    /// RFC 3339 in UTC with milliseconds, as the protocol's times are written.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    public struct ReceiveEntry: Codable, Sendable, Equatable {
        public var track: String
        public var participant: String
        public var kind: String
    }

    /// What a client sends. Unknown fields are ignored; missing required ones make the message invalid.
    enum Inbound {
        case join(version: Int, token: String, name: String?, resume: String?, room: String?)
        /// `sources` maps a sending mid to what it carries ("camera", "screen", "microphone").
        case offer(sdp: String, sources: [String: String])
        case mute(kind: String, muted: Bool)
        case ping(id: Int?)
        case leave
        case endMeeting
        case remove(participant: String)
        /// A host lets a removed identity back in.
        case readmit(identity: String)
        case muteParticipant(participant: String, kind: String)
        /// The size a remote video tile is shown at, in CSS pixels; 0×0 = hidden.
        case videoSize(track: String, width: Int, height: Int)
        /// What video to receive: "auto" (as the tiles' sizes ask), "low" (the lowest layer of each) or "off" (none).
        case receiveVideo(mode: String)
        /// Host: let someone in the lobby in, or send them away.
        case admit(participant: String)
        case deny(participant: String)
        /// Host: nobody new joins while locked.
        case lock(locked: Bool)
        /// Host: whether participants who are not hosts may share a screen.
        case allowScreenShare(allowed: Bool)
        /// Host: ask everyone else to mute their microphone.
        case muteAll
        /// Host: make another participant a host too.
        case makeHost(participant: String)
        case raiseHand
        /// Lowers the sender's hand, or (hosts) someone else's.
        case lowerHand(participant: String?)
        case chat(text: String)
        /// Host: start (true) or stop (false) recording the room.
        case record(active: Bool)

        struct Envelope: Decodable { var type: String }
        struct Join: Decodable { var version: Int?; var token: String?; var name: String?; var resume: String?; var room: String? }
        struct Target: Decodable { var participant: String; var kind: String? }
        struct Readmit: Decodable { var identity: String }
        struct Offer: Decodable { var sdp: String; var sources: [String: String]? }
        struct Mute: Decodable { var kind: String; var muted: Bool }
        struct Ping: Decodable { var id: Int? }
        struct VideoSize: Decodable { var track: String; var width: Int; var height: Int }
        struct ReceiveVideo: Decodable { var mode: String }
        struct Lock: Decodable { var locked: Bool }
        struct Allowed: Decodable { var allowed: Bool }
        struct OptionalTarget: Decodable { var participant: String? }
        struct Chat: Decodable { var text: String }
        struct Record: Decodable { var active: Bool }

        enum Failure: Error { case badJSON(String), unknownType(String) }

        static func decode(_ text: String) throws(Failure) -> Inbound {
            let data = Data(text.utf8)
            let decoder = JSONDecoder()
            let type: String
            do {
                type = try decoder.decode(Envelope.self, from: data).type
            } catch {
                throw .badJSON("expected a JSON object with a string \"type\"")
            }
            do {
                switch type {
                case "join":
                    let join = try decoder.decode(Join.self, from: data)
                    return .join(version: join.version ?? 0, token: join.token ?? "", name: join.name, resume: join.resume, room: join.room)
                case "offer":
                    let offer = try decoder.decode(Offer.self, from: data)
                    return .offer(sdp: offer.sdp, sources: offer.sources ?? [:])
                case "mute": return .mute(kind: try decoder.decode(Mute.self, from: data).kind, muted: try decoder.decode(Mute.self, from: data).muted)
                case "ping": return .ping(id: try decoder.decode(Ping.self, from: data).id)
                case "leave": return .leave
                case "end-meeting": return .endMeeting
                case "remove": return .remove(participant: try decoder.decode(Target.self, from: data).participant)
                case "readmit": return .readmit(identity: try decoder.decode(Readmit.self, from: data).identity)
                case "mute-participant":
                    let target = try decoder.decode(Target.self, from: data)
                    guard let kind = target.kind else { throw Failure.badJSON("\"mute-participant\" needs \"kind\"") }
                    return .muteParticipant(participant: target.participant, kind: kind)
                case "video-size":
                    let size = try decoder.decode(VideoSize.self, from: data)
                    return .videoSize(track: size.track, width: size.width, height: size.height)
                case "receive-video": return .receiveVideo(mode: try decoder.decode(ReceiveVideo.self, from: data).mode)
                case "admit": return .admit(participant: try decoder.decode(Target.self, from: data).participant)
                case "deny": return .deny(participant: try decoder.decode(Target.self, from: data).participant)
                case "lock": return .lock(locked: try decoder.decode(Lock.self, from: data).locked)
                case "allow-screen-share": return .allowScreenShare(allowed: try decoder.decode(Allowed.self, from: data).allowed)
                case "mute-all": return .muteAll
                case "make-host": return .makeHost(participant: try decoder.decode(Target.self, from: data).participant)
                case "raise-hand": return .raiseHand
                case "lower-hand": return .lowerHand(participant: try decoder.decode(OptionalTarget.self, from: data).participant)
                case "chat": return .chat(text: try decoder.decode(Chat.self, from: data).text)
                case "record": return .record(active: try decoder.decode(Record.self, from: data).active)
                default: throw Failure.unknownType(type)
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw .badJSON("\"\(type)\" message is missing a field or has a wrong type")
            }
        }
    }

    /// Encodes a server message: `type` plus the given fields.
    static func encode(_ type: String, _ fields: [String: any Encodable & Sendable] = [:]) -> String {
        var object: [String: AnyEncodable] = ["type": AnyEncodable("type", type)]
        for (key, value) in fields { object[key] = AnyEncodable(key, value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(object), let text = String(data: data, encoding: .utf8) else {
            return "{\"type\":\"error\",\"code\":\"internal\",\"message\":\"encoding failed\",\"fatal\":false}"
        }
        return text
    }

    /// The server is going away (drain on SIGTERM): reconnect in about `retryAfter` seconds; the page says so and
    /// keeps trying to rejoin until the server is back.
    /// In a cluster, another node holds the room: connect to `url` and send the same join there.
    static func redirect(_ url: String) -> String {
        encode("redirect", ["url": url])
    }

    static func serverShutdown(retryAfter: Int) -> String {
        encode("server-shutdown", ["retryAfter": retryAfter])
    }

    static func error(_ code: String, _ message: String, fatal: Bool) -> String {
        encode("error", ["code": code, "message": message, "fatal": fatal])
    }

    struct AnyEncodable: Encodable {
        let value: any Encodable
        init(_ key: String, _ value: any Encodable) { self.value = value }
        func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    }
}
