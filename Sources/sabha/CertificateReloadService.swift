import Logging
import ServiceLifecycle
import Signalling
import UnixSignals

/// SIGHUP re-reads `--tls-cert` and `--tls-key` (`systemctl reload sabha` after a renewal): new connections get the
/// new certificate, open ones and their meetings carry on. A pair that does not load is logged and the old one stays.
/// Without TLS, SIGHUP is only logged (its default action would end the server).
struct CertificateReloadService: Service {
    let credentials: TLSCredentials?
    let logger: Logger

    func run() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                guard let credentials else {
                    logger.notice("SIGHUP: nothing to reload (no --tls-cert)")
                    continue
                }
                do {
                    let summary = try credentials.reload()
                    logger.notice("TLS certificate reloaded", metadata: ["names": "\(summary.names.joined(separator: ","))",
                                                                         "valid-until": "\(summary.notAfter)"])
                } catch {
                    logger.error("TLS certificate reload failed; the previous one stays in use", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
