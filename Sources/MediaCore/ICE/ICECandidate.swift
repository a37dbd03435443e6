/// One of our host candidates as the answer announces it (RFC 8839 section 5.1): each announced address with each
/// worker port, over UDP and, with ICE-TCP, as a passive TCP candidate (RFC 6544) on the same port number.
///
/// Priorities follow RFC 8445 section 5.1.2.1 with the host type preference (126): UDP candidates take the local
/// preferences 65535 down, TCP ones RFC 6544 section 4.2's `2^13 * direction-pref + other-pref` with passive's
/// direction preference 4 (below every UDP candidate), so a browser pairs UDP first and falls back to TCP only
/// when UDP checks fail. The first announced address is preferred in each family of candidates.
public struct ICECandidate: Sendable, Hashable, CustomStringConvertible {
    public enum Transport: String, Sendable, Hashable {
        case udp
        case tcp
    }

    /// Candidates of the same type, base address and transport share a foundation (RFC 8445 section 5.1.1.3).
    public var foundation: String
    public var transport: Transport
    public var priority: UInt32
    public var ip: String
    public var port: UInt16

    public init(foundation: String, transport: Transport, priority: UInt32, ip: String, port: UInt16) {
        self.foundation = foundation
        self.transport = transport
        self.priority = priority
        self.ip = ip
        self.port = port
    }

    /// The candidate-attribute value: `a=candidate:` followed by this.
    public var description: String {
        switch transport {
        case .udp: "\(foundation) 1 udp \(priority) \(ip) \(port) typ host"
        case .tcp: "\(foundation) 1 tcp \(priority) \(ip) \(port) typ host tcptype passive"
        }
    }

    /// Our host candidates for `addresses` (in order of preference) on `port`: UDP for each, then passive TCP for
    /// each when `tcp`.
    public static func hostCandidates(addresses: [String], port: UInt16, tcp: Bool) -> [ICECandidate] {
        var candidates: [ICECandidate] = []
        for (rank, ip) in addresses.enumerated() {
            candidates.append(ICECandidate(foundation: "\(rank + 1)", transport: .udp,
                                           priority: priority(localPreference: 65_535 - min(rank, 255)), ip: ip, port: port))
        }
        guard tcp else { return candidates }
        for (rank, ip) in addresses.enumerated() {
            candidates.append(ICECandidate(foundation: "\(addresses.count + rank + 1)", transport: .tcp,
                                           priority: priority(localPreference: (1 << 13) * 4 + 8_191 - min(rank, 255)),
                                           ip: ip, port: port))
        }
        return candidates
    }

    /// RFC 8445 section 5.1.2.1 for a host candidate of component 1.
    static func priority(localPreference: Int) -> UInt32 {
        (126 << 24) | (UInt32(localPreference) << 8) | 255
    }
}
