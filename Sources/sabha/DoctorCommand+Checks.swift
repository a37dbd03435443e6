import AsyncHTTPClient
import Foundation
import GroupwareBridge
import MediaCore
import Signalling

/// The checks of `sabha doctor` that look beyond this machine's ports: where clients send media, the certificate
/// browsers see, the mail and calendar servers, and the clock.
extension DoctorCommand {
    /// Each address put in ICE candidates must reach the media port: sent from here, a packet must arrive where the
    /// worker binds. An address that is not this machine's may be a NAT's, which this machine cannot test.
    static func checkAnnounce(_ settings: ServeSettings, _ report: inout DoctorReport) {
        let local = DoctorProbes.localAddresses()
        let announced = settings.media.announceIPs.isEmpty ? [settings.rtcHost] : settings.media.announceIPs
        let bindText = "--rtc \(settings.rtcHost):\(settings.rtcPort)"
        for address in announced {
            switch DoctorProbes.udpArrives(bindHost: settings.rtcHost, announce: address, port: settings.rtcPort) {
            case .failure(let error):
                report.fail("announce address \(address)", "cannot test it: \(error)")
            case .success(true):
                report.ok("announce address \(address)", "a packet sent to \(address):\(settings.rtcPort) reaches the media port (\(bindText))")
            case .success(false):
                let mine = local.contains(address)
                let isLoopback = address.hasPrefix("127.") || address == "::1"
                let told = "clients are told to send media to \(address):\(settings.rtcPort), but a packet sent there from this machine does not reach the media port (\(bindText))"
                if mine {
                    report.fail("announce address \(address)", "\(told): \(address) is this machine's, but the media port is bound to \(settings.rtcHost) only. Bind --rtc to \(address) or to 0.0.0.0.")
                } else if isLoopback {
                    report.fail("announce address \(address)", "\(told). \(address) is not an address of this machine (it has \(local.joined(separator: ", "))). Set --announce-ip to the address clients reach this server at.")
                } else {
                    report.warn("announce address \(address)", "\(told), and it is not an address of this machine (it has \(local.joined(separator: ", "))). Right only if it is the public address of a NAT that forwards UDP \(settings.rtcPort) here (and does not loop back); otherwise set --announce-ip to the address clients reach.")
                }
            }
        }
    }

    /// The certificate browsers will see: in date, not near expiry, and naming the public URL's host. Without TLS,
    /// a public URL other than localhost needs https somewhere (browsers give the camera only to secure pages).
    static func checkCertificate(_ settings: ServeSettings, _ report: inout DoctorReport) {
        let publicHost = URL(string: settings.http.publicURL)?.host ?? settings.http.host
        guard let tls = settings.http.tls else {
            if settings.http.publicURL.hasPrefix("http://") && !["127.0.0.1", "localhost", "::1"].contains(publicHost) {
                report.warn("TLS", "the public URL \(settings.http.publicURL) is plain http: browsers allow camera and microphone only on https pages (or localhost). Use --tls-cert/--tls-key, or a TLS proxy and --public-url https://…")
            } else {
                report.ok("TLS", "off (\(settings.http.publicURL.hasPrefix("https://") ? "a TLS proxy in front, by the public URL" : "localhost only"))")
            }
            return
        }
        let summary = tls.summary
        let format = ISO8601DateFormatter()
        let left = summary.notAfter.timeIntervalSinceNow
        if left < 0 {
            report.fail("certificate", "\(tls.certificatePath) expired on \(format.string(from: summary.notAfter)) (\(Int(-left / 86400)) days ago): browsers refuse it. Install a renewed certificate and run 'systemctl reload sabha' (SIGHUP).")
        } else if summary.notBefore.timeIntervalSinceNow > 0 {
            report.fail("certificate", "\(tls.certificatePath) is not valid before \(format.string(from: summary.notBefore)): browsers refuse it until then (or this machine's clock is wrong).")
        } else if left < expiryWarning {
            report.warn("certificate", "\(tls.certificatePath) expires on \(format.string(from: summary.notAfter)), in \(Int(left / 86400)) days: renew it and run 'systemctl reload sabha'.")
        } else {
            report.ok("certificate", "valid until \(format.string(from: summary.notAfter)) (\(Int(left / 86400)) days)")
        }
        if TLSCredentials.covers(summary.names, host: publicHost) {
            report.ok("certificate name", "it names \(publicHost), the host of the public URL")
        } else {
            let names = summary.names.isEmpty ? "no names (no subjectAltName)" : summary.names.joined(separator: ", ")
            report.fail("certificate name", "it is for \(names), not for \(publicHost), the host of the public URL \(settings.http.publicURL): browsers refuse it. Get one for \(publicHost), or set --public-url to a name it covers.")
        }
    }

    /// /metrics open to anyone on a server people reach from outside tells them how many meetings run, and when.
    static func checkMetrics(_ settings: ServeSettings, _ report: inout DoctorReport) {
        let publicHost = URL(string: settings.http.publicURL)?.host ?? settings.http.host
        switch settings.http.metrics {
        case .public where !["127.0.0.1", "localhost", "::1"].contains(publicHost):
            report.warn("metrics", "/metrics is open to anyone who reaches \(settings.http.publicURL): use --metrics admin-key, or --metrics HOST:PORT on an internal address")
        case .public: report.ok("metrics", "public on the HTTP port (localhost only)")
        case .adminKey: report.ok("metrics", "on the HTTP port, with the admin key")
        case .listener(let host, let port): report.ok("metrics", "on their own address \(host):\(port)")
        }
    }

    /// The SMTP server takes the login; each CalDAV collection answers with the credentials.
    static func checkGroupware(_ settings: ServeSettings, _ report: inout DoctorReport) async {
        if let smtp = settings.groupware.smtp {
            do {
                try await SMTPClient(configuration: smtp).verify()
                report.ok("mail", "\(smtp.host):\(smtp.port) answers\(smtp.username.map { " and accepts the login of \($0)" } ?? "")")
            } catch {
                report.fail("mail", "\(smtp.host):\(smtp.port): \(error). Invitations cannot go out until this works.")
            }
        } else {
            report.skip("mail", "no --smtp-url: invitations are not mailed")
        }
        let calendars = [("organizer calendar", settings.groupware.organizerCalendar), ("resource calendar", settings.groupware.resourceCalendar)]
        guard calendars.contains(where: { $0.1 != nil }) else { return report.skip("calendar", "no CalDAV calendar configured") }
        let client = CalDAVClient.makeHTTPClient()
        for case let (what, configuration?) in calendars {
            do {
                _ = try await CalDAVClient(configuration: configuration, httpClient: client).collectionTag()
                report.ok(what, "\(configuration.collectionURL) answers\(configuration.username.map { " to \($0)" } ?? "")")
            } catch {
                report.fail(what, "\(configuration.collectionURL): \(error)")
            }
        }
        try? await client.shutdown()
    }

    /// Tokens and meeting windows are checked against this clock: compared with an NTP server when one is named,
    /// else the system's own synchronisation status.
    static func checkClock(_ ntpServer: String?, _ report: inout DoctorReport) throws {
        guard let ntpServer else {
            let status = try? Self.output(of: "/usr/bin/timedatectl", ["show", "--property=NTPSynchronized", "--value"])
            switch status?.trimmingCharacters(in: .whitespacesAndNewlines) {
            case "yes": report.ok("clock", "synchronised by NTP (timedatectl)")
            case "no": report.warn("clock", "not synchronised by NTP (timedatectl): join tokens and meeting windows depend on it. Enable systemd-timesyncd or chrony with the state's NTP servers.")
            default: report.warn("clock", "cannot tell whether the clock is synchronised (no timedatectl answer); name an NTP server with --ntp-server to compare")
            }
            return
        }
        let (host, port) = try Settings.hostPort(ntpServer, what: "--ntp-server", defaultPort: 123)
        switch DoctorProbes.clockOffset(server: host, port: port) {
        case .failure(let error):
            report.warn("clock", "cannot ask the NTP server \(ntpServer): \(error)")
        case .success(let offset):
            let text = String(format: "%.1f s %@ %@", abs(offset), offset > 0 ? "behind" : "ahead of", ntpServer)
            switch abs(offset) {
            case ..<1: report.ok("clock", "within \(String(format: "%.2f", abs(offset))) s of \(ntpServer)")
            case ..<5: report.warn("clock", "this machine's clock is \(text); keep it within a second with NTP")
            default: report.fail("clock", "this machine's clock is \(text): join links may be refused as not yet valid or expired. Synchronise it with NTP.")
            }
        }
    }

    /// The standard output of a short command, or nil when it cannot run.
    static func output(of path: String, _ arguments: [String]) throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
