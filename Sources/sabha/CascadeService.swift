import Logging
import ServiceLifecycle
import Signalling

/// Keeps this node's relays (cascading) in step every `ClusterNode.heartbeatInterval`: asks after those it receives,
/// closes those without viewers or whose origin is gone, and those it sends that nobody asks after
/// (`CascadeRelays.tick`). Its own loop, beside the heartbeat's: a node that does not answer must not delay this
/// node's heartbeat. On shutdown every relay is closed, and the other nodes are told.
struct CascadeService: Service {
    let relays: CascadeRelays
    /// Its meetings' viewers whose media a node served that stopped are told so (`MeetingHub.checkMediaNodes`).
    let hub: MeetingHub

    func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // First: it asks only the database, while the relays' round may wait on nodes that do not answer.
            await hub.checkMediaNodes()
            // A round waiting on a node that does not answer must not hold up this node's shutdown.
            await cancelWhenGracefulShutdown { await relays.tick() }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(ClusterNode.heartbeatInterval * 1000))) }
        }
        await relays.closeAll()
    }
}
