import Logging
import MediaCore

/// Follows the media engine's events for the control plane: transports that die on their own (consent expiry, DTLS
/// failure or close) end their WHIP/WHEP session, and a publisher's end closes its viewers, or else reach their meeting
/// participant (which keeps its place and comes back with a new transport); active speakers and layer switches reach
/// the meeting. One per engine; `run` returns when the
/// engine stops.
public struct MediaEventLoop: Sendable {
    let engine: MediaEngine
    let registry: SessionRegistry
    /// Where meeting events go; nil when only WHIP/WHEP runs (tests).
    let meetings: MeetingHub?
    /// In a cluster: meeting viewers' transports served here for other nodes, whose end their node must hear of.
    let cascade: CascadeRelays?
    let logger: Logger

    public init(sessions: SessionService, meetings: MeetingHub?, cascade: CascadeRelays? = nil) {
        self.engine = sessions.engine
        self.registry = sessions.registry
        self.meetings = meetings
        self.cascade = cascade
        self.logger = sessions.logger
    }

    public func run() async {
        for await event in engine.events() {
            await handle(event)
        }
    }

    func handle(_ event: MediaEvent) async {
        switch event {
        case .transportConnected(let transport, let profile):
            await registry.noteConnected(profile)
            let session = await registry.session(transport: transport)
            logger.info("transport connected", metadata: ["transport": "\(transport)", "srtp": "\(profile.rawValue)",
                                                          "session": "\(session?.id ?? "-")"])
        case .transportClosed(let transport, let reason):
            await transportClosed(transport, reason: reason)
        case .activeSpeaker(let room, let producer):
            await meetings?.activeSpeaker(room: room, producer: producer)
        case .consumerLayersChanged(let consumer, let spatial, let temporal):
            await meetings?.consumerLayersChanged(consumer, spatial: spatial, temporal: temporal)
        case .producerClosed, .consumerClosed:
            break
        }
    }

    /// A WHIP/WHEP session's transport ends the session (and a publisher's, its viewers'); a meeting participant's
    /// ends what it published and received, not its place in the meeting.
    private func transportClosed(_ transport: TransportID, reason: TransportCloseReason) async {
        guard let (session, viewers) = await registry.remove(transport: transport) else {
            if let meetings, await meetings.transportClosed(transport, reason: reason) {
                logger.notice("meeting transport closed by the media layer", metadata: ["transport": "\(transport)", "reason": "\(reason.rawValue)"])
            } else if let cascade {
                _ = await cascade.hostedTransportClosed(transport, reason: reason)
            }
            return
        }
        for viewer in viewers { await engine.closeTransport(viewer.transport) }
        logger.notice("transport closed by the media layer", metadata: [
            "transport": "\(transport)", "reason": "\(reason.rawValue)", "session": "\(session.id)",
            "kind": "\(session.kind.rawValue)", "identity": "\(session.identity)", "viewers closed": "\(viewers.count)"])
    }
}
