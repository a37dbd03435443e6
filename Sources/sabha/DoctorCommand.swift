import ArgumentParser
import Foundation
import PostgresStore
import GroupwareBridge
import Logging
import MediaCore
import Recording
import Signalling

/// `sabha doctor`: checks a configuration the way a new operator needs before the first meeting: the ports free,
/// the announced address reaching the media port, the certificate valid for the public URL and not near expiry,
/// the mail and calendar servers taking the credentials, disk space, and the clock. It takes exactly the options
/// and SABHA_* variables of `sabha serve` (so `set -a; . /etc/sabha/sabha.env; sabha doctor` checks what the service
/// will run with), and exits 1 when a check fails.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a configuration before serving: ports, announce address, certificate, mail and calendar, disk, clock.",
        discussion: "Takes the options and SABHA_* variables of 'sabha serve'. Exits 1 when a check fails.")

    @OptionGroup(title: "The server's options (as for sabha serve)") var serve: ServeOptions

    @Option(help: "NTP server to compare the clock with, host[:port] (env SABHA_NTP_SERVER; unset: ask timedatectl whether the clock is synchronised).")
    var ntpServer: String?

    /// A certificate this close to expiry is a warning.
    static let expiryWarning: TimeInterval = 21 * 86400

    func run() async throws {
        var report = DoctorReport()
        let settings: ServeSettings
        do {
            settings = try ServeSettings(serve)
            report.ok("configuration", "the options and SABHA_* variables are valid")
        } catch {
            report.fail("configuration", "\(error)")
            print(report.summary)
            throw ExitCode(1)
        }
        let serving = Self.checkDataDirectory(settings, &report)
        Self.checkDatabase(settings, &report)
        if serving {
            report.skip("ports", "a running sabha serve holds them; stop it to check the ports and the announce address")
        } else {
            Self.checkPorts(settings, &report)
            Self.checkAnnounce(settings, &report)
        }
        Self.checkCertificate(settings, &report)
        Self.checkMetrics(settings, &report)
        await Self.checkGroupware(settings, &report)
        try Self.checkClock(Settings.optional(ntpServer, env: "SABHA_NTP_SERVER"), &report)
        print(report.summary)
        if report.failures > 0 { throw ExitCode(1) }
    }

    /// The data directory: whether a server runs on it (returned), whether it can be written, and the free disk.
    static func checkDataDirectory(_ settings: ServeSettings, _ report: inout DoctorReport) -> Bool {
        let directory = settings.dataDirectory
        var serving = false
        if FileManager.default.fileExists(atPath: directory) {
            do {
                _ = try DataDirectoryLock(dataDirectory: directory, doing: "check")
                let writable = FileManager.default.isWritableFile(atPath: directory)
                writable ? report.ok("data directory", "\(directory) is writable")
                         : report.fail("data directory", "\(directory) is not writable by this user; the server keeps its store and keys there")
            } catch let error as DataDirectoryLockError {
                if let pid = error.heldBy {
                    serving = true
                    report.ok("data directory", "\(DataDirectoryLock.holderText(pid)) uses the data directory '\(directory)'")
                } else {
                    report.fail("data directory", error.description)
                }
            } catch {
                report.fail("data directory", "\(error)")
            }
        } else {
            report.ok("data directory", "\(directory) does not exist yet; sabha serve creates it")
        }
        if let free = DiskSpace.available(at: directory) {
            let text = ByteCountFormatter.string(fromByteCount: free, countStyle: .binary)
            switch free {
            case ..<(200 << 20): report.fail("disk", "only \(text) free for \(directory): the store, backups and logs need room")
            case ..<(2 << 30): report.warn("disk", "\(text) free for \(directory); keep at least 2 GiB for the store, backups and logs")
            default: report.ok("disk", "\(text) free for \(directory)")
            }
            let keep = Int64(settings.recordingMinimumFree)
            if keep > 0 && free < keep {
                report.warn("recordings", "\(text) free is less than --recording-min-free (\(ByteCountFormatter.string(fromByteCount: keep, countStyle: .binary))): no recording can start")
            }
        }
        return serving
    }

    /// `--database`: PostgreSQL answers, its schema is this Sabha's (or will be brought up to date), and which nodes
    /// of the cluster are alive. Nothing is written.
    static func checkDatabase(_ settings: ServeSettings, _ report: inout DoctorReport) {
        guard let url = settings.database else { return }
        let inspection: PostgresInspection
        do {
            inspection = try PostgresInspection.inspect(url, logger: Logger(label: "sabha.doctor"))
        } catch {
            return report.fail("database", "\(error)")
        }
        if !inspection.unknownMigrations.isEmpty {
            report.fail("database", "\(url) was set up by a newer Sabha (migrations \(inspection.unknownMigrations.joined(separator: ", "))); use that version")
        } else if inspection.pendingMigrations.isEmpty {
            report.ok("database", "PostgreSQL \(inspection.serverVersion) at \(url), schema up to date")
        } else {
            report.ok("database", "PostgreSQL \(inspection.serverVersion) at \(url); sabha serve will apply \(inspection.pendingMigrations.joined(separator: ", "))")
        }
        let now = Date()
        let alive = inspection.nodes.filter { $0.isAlive(at: now) }
        report.ok("cluster", "\(alive.count) of \(inspection.nodes.count) known nodes alive\(alive.isEmpty ? "" : ": " + alive.map(\.id).joined(separator: ", "))")
        if settings.explicitPublicURL == nil {
            report.warn("cluster", "no --public-url: in a cluster each node needs its own, reachable by browsers (it names the node and is where joins for its rooms are sent)")
        } else if alive.contains(where: { $0.id == settings.http.publicURL }) {
            report.warn("cluster", "a live node already uses the public URL \(settings.http.publicURL); each node needs its own")
        }
    }

    /// The HTTP port, the redirect port, and each media worker's UDP port (and ICE-TCP port).
    static func checkPorts(_ settings: ServeSettings, _ report: inout DoctorReport) {
        var wanted: [(what: String, host: String, port: Int, udp: Bool)] = [("--http", settings.http.host, settings.http.port, false)]
        if let host = settings.http.redirectHost, let port = settings.http.redirectPort { wanted.append(("--http-redirect", host, port, false)) }
        for worker in 0..<settings.media.workers {
            wanted.append(("--rtc (worker \(worker))", settings.rtcHost, settings.rtcPort + worker, true))
            if settings.media.iceTCP { wanted.append(("ICE-TCP (worker \(worker))", settings.rtcHost, settings.rtcPort + worker, false)) }
        }
        for (what, host, port, udp) in wanted where port != 0 {
            let name = "\(udp ? "UDP" : "TCP") \(host.contains(":") ? "[\(host)]" : host):\(port)"
            switch DoctorProbes.bound(host, port: port, udp: udp) {
            case .success(let fd):
                close(fd)
                report.ok("port \(what)", "\(name) is free")
            case .failure(let error):
                report.fail("port \(what)", "cannot listen on \(name): \(error); stop what uses it or choose another with \(what.split(separator: " ")[0])")
            }
        }
    }
}
