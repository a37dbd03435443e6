import CMediaShims
import COpenSSL

/// One DTLS 1.2 association with one peer, run by OpenSSL over two memory BIOs.
///
/// The worker writes each datagram that arrives for this peer into `receive`, sends what
/// `drainOutgoing` yields, and calls `handleTimeout` when `timeoutMilliseconds` has passed.
/// No sockets, no clock of its own: the same code runs in tests by shuttling datagrams.
///
/// Browser ClientHellos with a post-quantum key share span two datagrams. We never use
/// `DTLSv1_listen` (its stateless cookie path refuses fragmented ClientHellos); each
/// datagram simply goes into the read BIO and OpenSSL reassembles the handshake message.
///
/// Not Sendable: owned by the one worker thread that owns the transport.
public final class DTLSEndpoint {
    public let role: DTLSRole
    public private(set) var state: DTLSState = .handshaking
    /// The use_srtp profile both sides agreed on; set when the handshake completes.
    public private(set) var selectedProfile: SRTPProfile?
    public let remoteFingerprints: [DTLSFingerprint]

    /// Largest datagram we send: below any path MTU that WebRTC meets in practice
    /// (IPv6 minimum 1280 minus headers, TURN overhead).
    public static let linkMTU = 1200

    private let context: DTLSContext
    /// `SSL *`, owned; it owns both BIOs.
    private let ssl: OpaquePointer
    /// Datagrams from the peer, written by `receive` and read by OpenSSL.
    private let readBIO: OpaquePointer
    /// Records OpenSSL wrote, concatenated; split again into datagrams by `drainOutgoing`.
    private let writeBIO: OpaquePointer
    private let mtu: Int
    /// Application data is not used (no data channels); reads land here and are dropped.
    private var scratch = [UInt8](repeating: 0, count: 2048)

    public convenience init(context: DTLSContext, role: DTLSRole, remoteFingerprints: [DTLSFingerprint]) throws {
        try self.init(context: context, role: role, remoteFingerprints: remoteFingerprints, mtu: DTLSEndpoint.linkMTU)
    }

    /// `mtu` other than 1200 only for tests that need a fragmented ClientHello.
    init(context: DTLSContext, role: DTLSRole, remoteFingerprints: [DTLSFingerprint], mtu: Int) throws {
        guard let ssl = SSL_new(context.context) else {
            throw MediaError.dtls("SSL_new: \(OpenSSLLibrary.drainErrors())")
        }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw MediaError.dtls("BIO_new: \(OpenSSLLibrary.drainErrors())")
        }
        // An empty memory BIO must read as "retry later", not as end of file.
        _ = sabha_BIO_set_mem_eof_return(readBIO, -1)
        _ = sabha_BIO_set_mem_eof_return(writeBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        // A memory BIO cannot report a path MTU: give OpenSSL ours so it splits each flight into
        // records that fit one datagram.
        _ = sabha_SSL_set_options_no_query_mtu(ssl)
        guard sabha_DTLS_set_link_mtu(ssl, mtu) == 1 else {
            SSL_free(ssl)
            throw MediaError.dtls("MTU \(mtu) refused")
        }
        switch role {
        case .server: SSL_set_accept_state(ssl)
        case .client: SSL_set_connect_state(ssl)
        }
        self.context = context
        self.role = role
        self.remoteFingerprints = remoteFingerprints
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.mtu = mtu
    }

    deinit {
        SSL_free(ssl)
    }

    /// Starts the handshake: as client this queues the ClientHello; as server it does nothing
    /// until the ClientHello arrives.
    public func start() {
        guard state == .handshaking else { return }
        driveHandshake()
    }

    /// Feeds one datagram from the peer (first byte 20...63, RFC 7983).
    public func receive(_ datagram: UnsafeRawBufferPointer) {
        guard let base = datagram.baseAddress, datagram.count > 0 else { return }
        switch state {
        case .failed, .closed:
            return
        case .handshaking, .connected:
            break
        }
        guard BIO_write(readBIO, base, Int32(datagram.count)) == Int32(datagram.count) else {
            fail("BIO_write: \(OpenSSLLibrary.drainErrors())")
            return
        }
        if state == .handshaking {
            driveHandshake()
        }
        if state == .connected {
            readApplicationData()
        }
    }

    /// Hands over every datagram OpenSSL produced since the last call, split at record
    /// boundaries into datagrams of at most the link MTU.
    public func drainOutgoing(_ send: (UnsafeRawBufferPointer) -> Void) {
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = sabha_BIO_get_mem_data(writeBIO, &data)
        guard length > 0, let data else { return }
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        var datagramStart = 0
        var offset = 0
        while offset < bytes.count {
            // DTLS record header: type, version(2), epoch(2), sequence(6), length(2) (RFC 6347 4.1).
            let recordLength: Int
            if bytes.count - offset >= 13 {
                recordLength = 13 + (Int(bytes[offset + 11]) << 8 | Int(bytes[offset + 12]))
            } else {
                recordLength = bytes.count - offset
            }
            let recordEnd = min(offset + recordLength, bytes.count)
            if recordEnd - datagramStart > mtu && offset > datagramStart {
                send(UnsafeRawBufferPointer(rebasing: bytes[datagramStart..<offset]))
                datagramStart = offset
            }
            offset = recordEnd
        }
        if offset > datagramStart {
            send(UnsafeRawBufferPointer(rebasing: bytes[datagramStart..<offset]))
        }
        _ = BIO_ctrl(writeBIO, BIO_CTRL_RESET, 0, nil)
    }

    /// Milliseconds until the retransmission timer fires, nil when no timer runs.
    public func timeoutMilliseconds() -> Int? {
        switch state {
        case .failed, .closed: return nil
        case .handshaking, .connected: break
        }
        let milliseconds = sabha_DTLS_get_timeout_ms(ssl)
        return milliseconds < 0 ? nil : milliseconds
    }

    /// Retransmits the last flight if its timer expired (RFC 6347 section 4.2.4); too many
    /// retransmissions fail the association.
    public func handleTimeout() {
        switch state {
        case .failed, .closed: return
        case .handshaking, .connected: break
        }
        if sabha_DTLS_handle_timeout(ssl) < 0 {
            fail("handshake timed out: \(OpenSSLLibrary.drainErrors())")
        }
    }

    /// Queues close_notify (send it with `drainOutgoing`) and ends the association.
    public func close() {
        switch state {
        case .failed, .closed: return
        case .handshaking, .connected: break
        }
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
        state = .closed
    }

    /// SRTP master keys and salts for the negotiated profile, nil before `.connected`.
    ///
    /// RFC 5764 section 4.2: the exporter ("EXTRACTOR-dtls_srtp", no context) yields
    /// client_write_key | server_write_key | client_write_salt | server_write_salt.
    public func exportSRTPKeys() -> SRTPKeyingMaterial? {
        guard state == .connected, let profile = selectedProfile else { return nil }
        let keyLength = profile.masterKeyLength
        let saltLength = profile.masterSaltLength
        var material = [UInt8](repeating: 0, count: 2 * (keyLength + saltLength))
        let label = "EXTRACTOR-dtls_srtp"
        let exported = SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0)
        guard exported == 1 else { return nil }
        let clientKey = Array(material[0..<keyLength])
        let serverKey = Array(material[keyLength..<2 * keyLength])
        let clientSalt = Array(material[2 * keyLength..<2 * keyLength + saltLength])
        let serverSalt = Array(material[2 * keyLength + saltLength..<2 * (keyLength + saltLength)])
        switch role {
        case .client:
            return SRTPKeyingMaterial(profile: profile, localKey: clientKey, localSalt: clientSalt,
                                      remoteKey: serverKey, remoteSalt: serverSalt)
        case .server:
            return SRTPKeyingMaterial(profile: profile, localKey: serverKey, localSalt: serverSalt,
                                      remoteKey: clientKey, remoteSalt: clientSalt)
        }
    }

    // MARK: - Driving OpenSSL

    private func driveHandshake() {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            handshakeCompleted()
            return
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            ERR_clear_error()
        case let code:
            fail("handshake failed (SSL error \(code)): \(OpenSSLLibrary.drainErrors())")
        }
    }

    private func handshakeCompleted() {
        guard let peer = SSL_get1_peer_certificate(ssl) else {
            fail("peer sent no certificate")
            return
        }
        defer { X509_free(peer) }
        let matched = remoteFingerprints.contains { expected in
            OpenSSLLibrary.fingerprint(of: peer, algorithm: expected.algorithm) == expected
        }
        guard matched else {
            fail("fingerprint mismatch")
            return
        }
        guard let negotiated = SSL_get_selected_srtp_profile(ssl),
              let profile = SRTPProfile(dtlsProfileID: UInt(negotiated.pointee.id)),
              context.profiles.contains(profile) else {
            fail("no SRTP profile negotiated")
            return
        }
        selectedProfile = profile
        state = .connected
    }

    /// After the handshake: swallow application data, notice close_notify and fatal alerts.
    private func readApplicationData() {
        while state == .connected {
            let count = scratch.withUnsafeMutableBytes { buffer in
                SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            }
            if count > 0 { continue }
            switch SSL_get_error(ssl, count) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                ERR_clear_error()
                return
            case SSL_ERROR_ZERO_RETURN:
                // close_notify: answer it (queued for drainOutgoing) and stop.
                _ = SSL_shutdown(ssl)
                ERR_clear_error()
                state = .closed
            case let code:
                fail("DTLS read failed (SSL error \(code)): \(OpenSSLLibrary.drainErrors())")
            }
        }
    }

    private func fail(_ reason: String) {
        ERR_clear_error()
        state = .failed(reason)
    }
}
