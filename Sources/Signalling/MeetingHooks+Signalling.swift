import Foundation
import Logging
import Scheduling

extension MeetingHooks {
    /// What the scheduler asks of this server: personal links are tokens from `tokens` on the meeting page under
    /// `publicURL`, rooms are the store's and the hub's, refusals count in `counters`; `outboxChanged` wakes whatever
    /// sends the outbox (the relay). In a cluster, what is done to a meeting's people happens on the node holding its
    /// room (`cluster`).
    public static func signalling(tokens: TokenAuthority, store: any RoomStore, hub: MeetingHub, publicURL: String,
                                  counters: LimitCounters, cluster: ClusterMeetingActions? = nil,
                                  outboxChanged: @escaping @Sendable () -> Void,
                                  logger: Logger) -> MeetingHooks {
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        /// The hub's part of an action: on the holding node in a cluster, here otherwise.
        @Sendable func act(_ action: ClusterMeetingActions.Action, _ room: String, _ identities: [String] = []) async {
            if let cluster {
                await cluster.perform(action, room: room, identities: identities)
            } else {
                await ClusterMeetingActions.apply(action, room: room, identities: identities, on: hub)
            }
        }
        return MeetingHooks(
            issueLink: { request in
                // The token outlives the join window by 30 days: the window itself is checked at join time against
                // the meeting as it is then (moved, over, cancelled), which says more than "token expired".
                let lifetime = max(60, request.expires.timeIntervalSinceNow) + 30 * 86_400
                let token = try await tokens.issue(AccessToken(identity: request.identity, room: request.room,
                                                               role: RoomAccess.participantRole(request.role),
                                                               name: request.name.isEmpty ? nil : request.name, lifetime: lifetime))
                return "\(base)/m/\(request.room)?t=\(token)"
            },
            openRoom: { room, title in
                _ = try store.createRoom(RoomRecord(name: room, title: title, createdAt: Date(), source: .api))
            },
            closeRoom: { room in
                await act(.end, room)
                do { try store.markEnded(room) } catch { logger.error("room not marked ended", metadata: ["room": "\(room)", "error": "\(error)"]) }
                logger.notice("meeting cancelled; room ended", metadata: ["room": "\(room)"])
            },
            dismiss: { room, identities in
                await act(.dismiss, room, identities)
            },
            rolesLowered: { room, identities in
                await act(.lowerRoles, room, identities)
            },
            outboxChanged: outboxChanged,
            limitReached: { limit, times in
                if let limit = LimitCounters.Limit(rawValue: limit) { counters.count(limit, times) }
            },
            answersChanged: { room in
                await act(.answersChanged, room)
            })
    }
}
