import Foundation

/// The standard Prometheus process metrics (CPU seconds, resident memory, open descriptors, start time) from
/// /proc/self, so a dashboard shows how much of a core the server uses without a node exporter beside it.
/// Empty where there is no /proc.
struct ProcessStats {
    var samples: [(name: String, type: String, help: String, value: String)] = []

    static func current() -> ProcessStats {
        var stats = ProcessStats()
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return stats }
        // Fields after "pid (comm) ": state is field 3, utime 14, stime 15, starttime 22 (proc(5)).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard fields.count > 19, ticks > 0, let user = Double(fields[11]), let system = Double(fields[12]), let start = Double(fields[19]) else { return stats }
        stats.samples.append(("process_cpu_seconds_total", "counter", "User and system CPU time of the server process.", "\((user + system) / ticks)"))
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8), let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) {
            stats.samples.append(("process_resident_memory_bytes", "gauge", "Resident memory of the server process.", "\(Int(pages) * Int(sysconf(Int32(_SC_PAGESIZE))))"))
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            stats.samples.append(("process_open_fds", "gauge", "Open file descriptors (sockets included).", "\(descriptors.count)"))
        }
        if let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8), let up = uptime.split(separator: " ").first.flatMap({ Double($0) }) {
            let started = Date().timeIntervalSince1970 - up + start / ticks
            stats.samples.append(("process_start_time_seconds", "gauge", "When the server process started (Unix time).", "\(Int(started))"))
        }
        return stats
    }
}
