import Foundation

/// What the generator reads about the server besides media: `GET /metrics` (Prometheus text) and, given its
/// pid, CPU time from /proc/PID/stat and resident memory from /proc/PID/status.
struct ServerProbe {
    let http: HTTPClient
    let pid: Int32?

    /// Every sample of `/metrics` by name plus labels as written (`sabha_dropped_packets_total{reason="sendFailed"}`).
    func metrics() -> [String: Double] {
        var client = http
        client.timeoutMs = 5000
        guard let response = try? client.request("GET", "/metrics"), response.status == 200 else { return [:] }
        var samples: [String: Double] = [:]
        for line in response.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// The `reason` label → value of `sabha_dropped_packets_total`.
    static func drops(_ samples: [String: Double]) -> [String: Double] {
        var out: [String: Double] = [:]
        let prefix = "sabha_dropped_packets_total{reason=\""
        for (key, value) in samples where key.hasPrefix(prefix) {
            out[String(key.dropFirst(prefix.count).prefix { $0 != "\"" })] = value
        }
        return out
    }

    /// Drops that grew between two samples, by reason.
    static func dropsBetween(_ before: [String: Double], _ after: [String: Double]) -> [String: Double] {
        let a = drops(before)
        var out: [String: Double] = [:]
        for (reason, value) in drops(after) where value - (a[reason] ?? 0) > 0 { out[reason] = value - (a[reason] ?? 0) }
        return out
    }

    /// Datagrams the kernel dropped because a socket's receive buffer was full (the `drops` column of
    /// /proc/net/udp and /proc/net/udp6, this network namespace): on the servers' media ports (a meeting's viewers
    /// may be served by several nodes), and on every other socket (the generator's peers share the namespace).
    /// These never reach the servers' own drop counters.
    static func kernelReceiveDrops(serverPorts: Set<UInt16>) -> (server: Int, others: Int) {
        var server = 0
        var others = 0
        for file in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count >= 13, let colon = fields[1].lastIndex(of: ":"),
                      let port = UInt16(fields[1][fields[1].index(after: colon)...], radix: 16),
                      let drops = Int(fields[fields.count - 1]) else { continue }
                if serverPorts.contains(port) { server += drops } else { others += drops }
            }
        }
        return (server, others)
    }

    var cpuSeconds: Double? { pid.flatMap(LoadRun.cpuSeconds(pid:)) }

    /// VmRSS in KiB.
    var residentKiB: Int? {
        guard let pid, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst("VmRSS:".count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }
}
