import Foundation
import Logging
import NIOHTTP1

/// What the scheduler does to a meeting's room (cancelled: end it; attendees dropped: send them out; roles lowered;
/// answers changed: refresh the hosts' invited list) must happen where the people are: on the node holding the room.
/// The calendar watcher and the reply collector run on one node of the cluster (a job lease), often not that one, so
/// the action goes there as a signed request (`POST /cluster/meetings`); on this node, or when no node holds the room,
/// it is done here.
public struct ClusterMeetingActions: Sendable {
    public enum Action: String, Codable, Sendable {
        case end
        case dismiss
        case lowerRoles
        case answersChanged
    }

    struct Request: Codable, Sendable {
        var room: String
        var action: Action
        var identities: [String]
    }

    let placement: RoomPlacement
    let client: ClusterClient
    let hub: MeetingHub
    let logger: Logger

    public init(placement: RoomPlacement, client: ClusterClient, hub: MeetingHub, logger: Logger) {
        self.placement = placement
        self.client = client
        self.hub = hub
        self.logger = logger
    }

    /// Does `action` where the room's meeting runs. When the node holding it cannot be reached, it is logged and done
    /// here as well (harmless where nobody is; the join checks keep refusing a dropped attendee everywhere).
    public func perform(_ action: Action, room: String, identities: [String] = []) async {
        if let holder = placement.holder(of: room) {
            do {
                let body = try JSONEncoder().encode(Request(room: room, action: action, identities: identities))
                let (status, answer) = try await client.call(holder, method: .POST, path: "/cluster/meetings", body: body)
                if status == 204 {
                    logger.info("meeting action done by the node holding the room",
                                metadata: ["room": "\(room)", "action": "\(action.rawValue)", "node": "\(holder)"])
                    return
                }
                logger.error("the node holding the meeting refused an action",
                             metadata: ["room": "\(room)", "action": "\(action.rawValue)", "node": "\(holder)", "status": "\(status)",
                                        "answer": "\(String(decoding: answer.prefix(200), as: UTF8.self))"])
            } catch {
                logger.error("the node holding the meeting cannot be reached; the action is done here only",
                             metadata: ["room": "\(room)", "action": "\(action.rawValue)", "node": "\(holder)", "error": "\(error)"])
            }
        }
        await Self.apply(action, room: room, identities: identities, on: hub)
    }

    /// The action on this node's hub (also what `POST /cluster/meetings` does).
    static func apply(_ action: Action, room: String, identities: [String], on hub: MeetingHub) async {
        switch action {
        case .end: _ = await hub.endMeeting(room: room, reason: "cancelled")
        case .dismiss: await hub.dismiss(room: room, identities: Set(identities))
        case .lowerRoles: await hub.roleLowered(room: room, identities: Set(identities))
        case .answersChanged: await hub.sendInvited(room)
        }
    }
}
