import CMediaShims
import COpenSSL

/// One `SSL_CTX` for every DTLS association of a worker: DTLS 1.2 only, our certificate,
/// use_srtp with the configured profiles.
///
/// Built once per worker. `@unchecked Sendable` is honest: after `init` nothing changes the
/// context, and OpenSSL documents an `SSL_CTX` as safe to share between threads that
/// create `SSL` objects from it.
public final class DTLSContext: @unchecked Sendable {
    public let certificate: DTLSCertificate
    /// Profiles in our order of preference; the server picks the first one the client offers too.
    public let profiles: [SRTPProfile]
    /// `SSL_CTX *`, owned.
    let context: OpaquePointer

    public init(certificate: DTLSCertificate, profiles: [SRTPProfile]) throws {
        guard !profiles.isEmpty else { throw MediaError.configuration("no SRTP profile configured") }
        guard let context = SSL_CTX_new(DTLS_method()) else {
            throw MediaError.dtls("SSL_CTX_new: \(OpenSSLLibrary.drainErrors())")
        }
        self.certificate = certificate
        self.profiles = profiles
        self.context = context

        // DTLS 1.2 only: DTLS 1.0 is obsolete (RFC 8996) and OpenSSL 3.0 has no DTLS 1.3.
        guard SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(DTLS1_2_VERSION), nil) == 1,
              SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(DTLS1_2_VERSION), nil) == 1 else {
            throw MediaError.dtls("cannot pin DTLS 1.2: \(OpenSSLLibrary.drainErrors())")
        }
        guard SSL_CTX_use_certificate(context, certificate.certificate) == 1,
              SSL_CTX_use_PrivateKey(context, certificate.privateKey) == 1,
              SSL_CTX_check_private_key(context) == 1 else {
            throw MediaError.dtls("certificate rejected: \(OpenSSLLibrary.drainErrors())")
        }
        // Ask for (and require) the peer's certificate, but accept any: WebRTC certificates are
        // self-signed, and DTLSEndpoint compares the peer's fingerprint with the SDP instead.
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
        // SSL_CTX_set_tlsext_use_srtp returns 0 on success (unlike most of OpenSSL).
        let list = profiles.map(\.rawValue).joined(separator: ":")
        guard SSL_CTX_set_tlsext_use_srtp(context, list) == 0 else {
            throw MediaError.dtls("use_srtp \(list) refused: \(OpenSSLLibrary.drainErrors())")
        }
        // ECDH: OpenSSL 3 always negotiates the curve automatically (SSL_CTX_set_ecdh_auto is a
        // no-op there). Renegotiation has no use in WebRTC and is a known attack surface.
        SSL_CTX_set_options(context, UInt64(1) << 30 /* SSL_OP_NO_RENEGOTIATION */)
        _ = sabha_SSL_CTX_set_read_ahead(context, 1)
    }

    deinit {
        SSL_CTX_free(context)
    }
}
