@testable import MediaCore

/// The DTLS side of the media port: datagrams demultiplexed by their first byte (RFC 7983) and, when
/// they are DTLS, fed to a fresh server endpoint (OpenSSL over memory BIOs) whose answers are split
/// into datagrams at record boundaries. The input is a list of datagrams, each with a two-byte length.
/// Nothing is checked but that none of it crashes, leaks or reads out of bounds (ASan).
enum DTLSFuzz {
    /// Certificate and context are made once: ECDSA key generation per input would dominate.
    static let context: DTLSContext = {
        do {
            return try DTLSContext(certificate: DTLSCertificate(), profiles: [.aeadAES128GCM, .aes128CMHMACSHA1_80])
        } catch {
            fatalError("DTLS context for fuzzing: \(error)")
        }
    }()

    static func run(_ data: UnsafeRawBufferPointer) {
        let fingerprint = DTLSFingerprint(algorithm: "sha-256", value: String(repeating: "AB:", count: 31) + "AB")
        guard let endpoint = try? DTLSEndpoint(context: context, role: .server, remoteFingerprints: [fingerprint]) else { return }
        endpoint.start()
        var reader = FuzzReader(data)
        var datagrams = 0
        while !reader.isAtEnd, datagrams < 16 {
            let datagram = reader.longChunk()
            datagrams += 1
            guard PacketClass.classify(datagram) == .dtls else { continue }
            endpoint.receive(datagram)
            endpoint.drainOutgoing { out in precondition(out.count > 0) }
            if endpoint.timeoutMilliseconds() != nil { endpoint.handleTimeout() }
            _ = endpoint.exportSRTPKeys()
        }
        endpoint.close()
        endpoint.drainOutgoing { _ in }
    }
}
