import Foundation
import Logging
import ServiceLifecycle
import Signalling

/// This node's heartbeat in the cluster, every `ClusterNode.heartbeatInterval`: the node row, and the leases of the
/// rooms with people here (meetings and WHIP/WHEP sessions). A node that stops (or is killed) stops renewing them,
/// and after `ClusterNode.deadAfter` the next join anywhere takes its rooms.
struct ClusterHeartbeatService: Service {
    let placement: RoomPlacement
    let hub: MeetingHub
    let sessions: SessionRegistry
    /// This node's viewer count and `--max-viewers`, told to the other nodes.
    let capacity: NodeCapacity
    let logger: Logger

    func run() async {
        let startedAt = Date()
        logger.notice("node joined the cluster", metadata: ["node": "\(placement.node)"])
        var failing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let meetings = await hub.liveRooms()
            let rooms = Array(meetings.keys) + Array(await sessions.rooms())
            do {
                let taken = try placement.heartbeat(startedAt: startedAt, rooms: rooms, viewers: await capacity.viewers(),
                                                    maxViewers: capacity.maxViewers, publishers: await capacity.publishers(),
                                                    maxPublishers: capacity.maxPublishers, people: meetings.mapValues(\.count))
                if failing { logger.notice("cluster heartbeat written again") }
                failing = false
                for (room, node) in taken { _ = await hub.moveRoom(room, to: RoomPlacement.webSocketURL(node)) }
            } catch {
                // Logged once per outage: the rooms here go on, but other nodes may take them once the leases run out.
                if !failing { logger.error("cluster heartbeat not written", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(ClusterNode.heartbeatInterval * 1000))) }
        }
    }
}
