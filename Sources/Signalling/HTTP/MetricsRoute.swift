import Foundation
import GroupwareBridge
import Hummingbird
import MediaCore
import Scheduling

/// `GET /metrics` in the Prometheus text format: media counters from the workers, sessions from the registry.
struct MetricsRoute: Sendable {
    let engine: MediaEngine
    let registry: SessionRegistry
    let meetings: MeetingHub
    /// Scheduled meetings' outbox (mail and calendar writes by state).
    let outbox: (any MeetingStore)?
    /// Refusals by the limits a logged-in user cannot exceed.
    var limits: LimitCounters?
    /// Open /ws connections.
    var webSockets: WebSocketConnections?
    /// Whether the server drains (SIGTERM).
    var drain: ServerDrain?
    /// The HTTPS certificate in use, for its expiry.
    var tls: TLSCredentials?

    func register(on router: some RouterMethods) {
        router.get("/metrics") { _, _ in
            let text = await render()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    func render() async -> String {
        let stats = await engine.stats()
        let counts = await registry.counts()
        let meeting = await meetings.snapshot()
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        metric("sabha_transports", "gauge", "Open WebRTC transports.", [("", "\(stats.transports)")])
        metric("sabha_producers", "gauge", "Incoming media streams.", [("", "\(stats.producers)")])
        metric("sabha_consumers", "gauge", "Outgoing media streams.", [("", "\(stats.consumers)")])
        metric("sabha_pool_buffers_in_use", "gauge", "Packet buffers taken from the preallocated pools.", [("", "\(stats.poolBuffersInUse)")])
        metric("sabha_pool_buffers_total", "gauge", "Packet buffers preallocated.", [("", "\(stats.poolBuffersTotal)")])
        metric("sabha_packets_received_total", "counter", "Datagrams (UDP, and ICE-TCP frames) received by media workers.", [("", "\(stats.packetsReceived)")])
        metric("sabha_packets_sent_total", "counter", "Datagrams (UDP, and ICE-TCP frames) sent by media workers.", [("", "\(stats.packetsSent)")])
        metric("sabha_rtp_forwarded_total", "counter", "RTP packets forwarded to consumers.", [("", "\(stats.rtpForwarded)")])
        metric("sabha_nack_requested_total", "counter", "Packets viewers asked for again (generic NACK).", [("", "\(stats.nackedPacketsReceived)")])
        metric("sabha_rtp_retransmitted_total", "counter", "Packets resent to viewers from the retransmission buffers.", [("", "\(stats.packetsRetransmitted)")])
        metric("sabha_nack_sent_total", "counter", "Packets we asked publishers to resend.", [("", "\(stats.nackedPacketsSent)")])
        metric("sabha_rtp_recovered_total", "counter", "Packets publishers resent (RTX) after our NACKs.", [("", "\(stats.packetsRecovered)")])
        metric("sabha_ice_tcp_connections", "gauge", "Open ICE-TCP connections (RFC 6544).", [("", "\(stats.iceTCPConnections)")])
        metric("sabha_ice_tcp_refused_total", "counter", "ICE-TCP connections refused or evicted at the per-worker maximum.",
               [("", "\(stats.iceTCPConnectionsRefused)")])
        metric("sabha_keyframe_requests_total", "counter", "PLIs sent to publishers after aggregating viewers' requests.", [("", "\(stats.keyframeRequestsSent)")])
        metric("sabha_layer_switches_total", "counter", "Spatial or temporal layer switches by consumers.", [("", "\(stats.layerSwitches)")])
        metric("sabha_padding_packets_total", "counter", "Padding packets sent to probe viewers' bandwidth.", [("", "\(stats.paddingPacketsSent)")])
        metric("sabha_rtp_piped_total", "counter", "Packets copied to another media worker for its viewers.", [("", "\(stats.packetsPiped)")])
        metric("sabha_rtp_relayed_total", "counter", "Packets sent to other nodes of the cluster over relays, for their viewers.",
               [("", "\(stats.packetsRelayed)")])
        metric("sabha_retransmission_buffer_bytes", "gauge", "Bytes of recent packets kept to answer viewers' NACKs.",
               [("", "\(stats.retransmissionBufferBytes)")])
        metric("sabha_retransmission_buffers_refused_total", "counter",
               "Producers that got no retransmission buffers because the memory allowance was used up.",
               [("", "\(stats.retransmissionBuffersRefused)")])
        metric("sabha_dropped_packets_total", "counter", "Datagrams dropped, by reason.",
               stats.dropped.sorted { $0.key < $1.key }.map { ("{reason=\"\($0.key)\"}", "\($0.value)") })
        metric("sabha_transports_connected_total", "counter", "Transports that completed DTLS, by SRTP profile.",
               SRTPProfile.allCases.map { ("{srtp_profile=\"\($0.rawValue)\"}", "\(counts.connected[$0] ?? 0)") })
        metric("sabha_sessions", "gauge", "Open WHIP/WHEP sessions.",
               MediaSession.Kind.allCases.map { ("{kind=\"\($0.rawValue)\"}", "\(counts.sessions[$0] ?? 0)") })
        metric("sabha_meeting_rooms", "gauge", "Rooms with at least one participant connected over /ws.", [("", "\(meeting.rooms)")])
        metric("sabha_meeting_participants", "gauge", "Participants connected over /ws.", [("", "\(meeting.participants)")])
        if let webSockets {
            metric("sabha_websocket_connections", "gauge", "Open /ws connections, joined or not.", [("", "\(webSockets.total)")])
        }
        for (name, type, help, value) in ProcessStats.current().samples {
            metric(name, type, help, [("", value)])
        }
        if let drain {
            metric("sabha_draining", "gauge", "1 while the server drains before it stops (SIGTERM), else 0.", [("", drain.isDraining ? "1" : "0")])
        }
        if let tls {
            metric("sabha_tls_certificate_not_after_seconds", "gauge", "When the HTTPS certificate in use expires (Unix time); SIGHUP reloads it.",
                   [("", "\(Int(tls.summary.notAfter.timeIntervalSince1970))")])
        }
        if let limits {
            metric("sabha_limit_refusals_total", "counter", "Requests, connections, meetings and invitations refused by a limit, by limit.",
                   limits.snapshot().map { ("{limit=\"\($0.limit.rawValue)\"}", "\($0.count)") })
        }
        if let outbox, let counts = try? outbox.outboxCounts() {
            metric("sabha_outbox_items", "gauge", "Mail and calendar writes in the outbox, by state (pending ones wait for a retry).",
                   OutboxItem.State.allCases.map { ("{state=\"\($0.rawValue)\"}", "\(counts[$0] ?? 0)") })
        }
        return out
    }
}
