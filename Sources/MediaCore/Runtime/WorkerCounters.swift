import Atomics

/// Why a datagram was dropped. Counted per worker; /metrics shows them so an operator sees attacks and bugs.
enum DropReason: Int, CaseIterable {
    case malformed
    case unknownSource
    case stunBadIntegrity
    case stunUnknownUser
    case stunUnexpected
    case dtlsUnknownSource
    case notConnected
    case srtpAuthFailed
    case srtpReplay
    case noProducer
    case poolExhausted
    case sendFailed
    case rtcpMalformed
    /// A transport carries more SRTP streams than `SRTPContext.maxStreams`: the new ones are refused.
    case srtpStreamLimit
    /// The pipe to another worker was full (that worker is behind): its viewers miss the packet.
    case pipeFull
    /// A media packet too large to forward: our rewritten header and the SRTP tag would not fit a pool buffer.
    case tooLarge
    /// An RTX packet that repairs nothing we asked for (a publisher's bandwidth probe, or a duplicate): its
    /// arrival still feeds congestion feedback, but it is neither forwarded nor counted as recovered.
    case rtxUnrequested
    /// An ICE-TCP connection's send buffer was full (its peer reads too slowly) or the connection was gone.
    case tcpCongested

    var name: String {
        switch self {
        case .malformed: "malformed"
        case .unknownSource: "unknownSource"
        case .stunBadIntegrity: "stunBadIntegrity"
        case .stunUnknownUser: "stunUnknownUser"
        case .stunUnexpected: "stunUnexpected"
        case .dtlsUnknownSource: "dtlsUnknownSource"
        case .notConnected: "notConnected"
        case .srtpAuthFailed: "srtpAuthFailed"
        case .srtpReplay: "srtpReplay"
        case .noProducer: "noProducer"
        case .poolExhausted: "poolExhausted"
        case .sendFailed: "sendFailed"
        case .rtcpMalformed: "rtcpMalformed"
        case .srtpStreamLimit: "srtpStreamLimit"
        case .pipeFull: "pipeFull"
        case .tooLarge: "tooLarge"
        case .rtxUnrequested: "rtxUnrequested"
        case .tcpCongested: "tcpCongested"
        }
    }
}

/// A worker's counters as other threads see them. The worker counts in plain memory and publishes here a few
/// times a second (single writer, relaxed stores): no atomic read-modify-write per packet.
final class WorkerCounters: Sendable {
    let transports = ManagedAtomic<Int>(0)
    let producers = ManagedAtomic<Int>(0)
    let consumers = ManagedAtomic<Int>(0)
    let poolInUse = ManagedAtomic<Int>(0)
    let poolTotal = ManagedAtomic<Int>(0)
    let packetsReceived = ManagedAtomic<UInt64>(0)
    let packetsSent = ManagedAtomic<UInt64>(0)
    let rtpForwarded = ManagedAtomic<UInt64>(0)
    let packetsRecovered = ManagedAtomic<UInt64>(0)
    let nackedPacketsReceived = ManagedAtomic<UInt64>(0)
    let packetsRetransmitted = ManagedAtomic<UInt64>(0)
    let nackedPacketsSent = ManagedAtomic<UInt64>(0)
    let keyframeRequestsSent = ManagedAtomic<UInt64>(0)
    let layerSwitches = ManagedAtomic<UInt64>(0)
    let paddingPacketsSent = ManagedAtomic<UInt64>(0)
    let packetsPiped = ManagedAtomic<UInt64>(0)
    let packetsRelayed = ManagedAtomic<UInt64>(0)
    let retransmissionBytes = ManagedAtomic<Int>(0)
    let retransmissionBuffersRefused = ManagedAtomic<UInt64>(0)
    let tcpConnections = ManagedAtomic<Int>(0)
    let tcpRefused = ManagedAtomic<UInt64>(0)
    let dropped: [ManagedAtomic<UInt64>] = DropReason.allCases.map { _ in ManagedAtomic<UInt64>(0) }

    func add(to stats: inout MediaStats) {
        stats.transports += transports.load(ordering: .relaxed)
        stats.producers += producers.load(ordering: .relaxed)
        stats.consumers += consumers.load(ordering: .relaxed)
        stats.poolBuffersInUse += poolInUse.load(ordering: .relaxed)
        stats.poolBuffersTotal += poolTotal.load(ordering: .relaxed)
        stats.packetsReceived += packetsReceived.load(ordering: .relaxed)
        stats.packetsSent += packetsSent.load(ordering: .relaxed)
        stats.rtpForwarded += rtpForwarded.load(ordering: .relaxed)
        stats.packetsRecovered += packetsRecovered.load(ordering: .relaxed)
        stats.nackedPacketsReceived += nackedPacketsReceived.load(ordering: .relaxed)
        stats.packetsRetransmitted += packetsRetransmitted.load(ordering: .relaxed)
        stats.nackedPacketsSent += nackedPacketsSent.load(ordering: .relaxed)
        stats.keyframeRequestsSent += keyframeRequestsSent.load(ordering: .relaxed)
        stats.layerSwitches += layerSwitches.load(ordering: .relaxed)
        stats.paddingPacketsSent += paddingPacketsSent.load(ordering: .relaxed)
        stats.packetsPiped += packetsPiped.load(ordering: .relaxed)
        stats.packetsRelayed += packetsRelayed.load(ordering: .relaxed)
        stats.retransmissionBufferBytes += retransmissionBytes.load(ordering: .relaxed)
        stats.retransmissionBuffersRefused += retransmissionBuffersRefused.load(ordering: .relaxed)
        stats.iceTCPConnections += tcpConnections.load(ordering: .relaxed)
        stats.iceTCPConnectionsRefused += tcpRefused.load(ordering: .relaxed)
        for reason in DropReason.allCases {
            stats.dropped[reason.name, default: 0] += dropped[reason.rawValue].load(ordering: .relaxed)
        }
    }
}

extension WorkerCounters {
    /// Publishes the loss-recovery and layer counters (single writer: the worker).
    func store(_ local: LocalCounters) {
        packetsRecovered.store(local.packetsRecovered, ordering: .relaxed)
        nackedPacketsReceived.store(local.nackedPacketsReceived, ordering: .relaxed)
        packetsRetransmitted.store(local.packetsRetransmitted, ordering: .relaxed)
        nackedPacketsSent.store(local.nackedPacketsSent, ordering: .relaxed)
        keyframeRequestsSent.store(local.keyframeRequestsSent, ordering: .relaxed)
        layerSwitches.store(local.layerSwitches, ordering: .relaxed)
        paddingPacketsSent.store(local.paddingPacketsSent, ordering: .relaxed)
        packetsPiped.store(local.packetsPiped, ordering: .relaxed)
        packetsRelayed.store(local.packetsRelayed, ordering: .relaxed)
        retransmissionBuffersRefused.store(local.retransmissionBuffersRefused, ordering: .relaxed)
    }
}

/// The worker's own plain counters, published into WorkerCounters on each tick. One instance per worker, shared
/// by its parts (the packet sender counts what it sends and drops); touched by the worker thread only.
final class LocalCounters {
    @exclusivity(unchecked) var packetsReceived: UInt64 = 0
    @exclusivity(unchecked) var packetsSent: UInt64 = 0
    @exclusivity(unchecked) var rtpForwarded: UInt64 = 0
    @exclusivity(unchecked) var packetsRecovered: UInt64 = 0
    @exclusivity(unchecked) var nackedPacketsReceived: UInt64 = 0
    @exclusivity(unchecked) var packetsRetransmitted: UInt64 = 0
    @exclusivity(unchecked) var nackedPacketsSent: UInt64 = 0
    @exclusivity(unchecked) var keyframeRequestsSent: UInt64 = 0
    @exclusivity(unchecked) var layerSwitches: UInt64 = 0
    @exclusivity(unchecked) var paddingPacketsSent: UInt64 = 0
    /// Packets copied into pipes to other workers (one per packet and receiving worker).
    @exclusivity(unchecked) var packetsPiped: UInt64 = 0
    @exclusivity(unchecked) var packetsRelayed: UInt64 = 0
    /// Producers that got no retransmission buffers (the memory allowance was used up).
    @exclusivity(unchecked) var retransmissionBuffersRefused: UInt64 = 0
    let dropped: UnsafeMutablePointer<UInt64>

    init() {
        dropped = .allocate(capacity: DropReason.allCases.count)
        dropped.initialize(repeating: 0, count: DropReason.allCases.count)
    }

    deinit { dropped.deallocate() }

    @inline(__always)
    func drop(_ reason: DropReason) { dropped[reason.rawValue] &+= 1 }
}
