import COpenSSL

/// Our DTLS identity: an ECDSA P-256 key and a self-signed certificate made at start.
///
/// WebRTC peers do not check a chain; they compare the certificate's hash with the
/// a=fingerprint we put in the SDP answer (RFC 8122, RFC 8827), so a fresh self-signed
/// certificate per process is what browsers expect.
///
/// `@unchecked Sendable` is honest: every stored property is set in `init` and never
/// changed, and OpenSSL only reads the key and certificate once they are installed
/// in an `SSL_CTX` (which takes its own references).
public final class DTLSCertificate: @unchecked Sendable {
    /// SHA-256 fingerprint for the SDP a=fingerprint attribute.
    public let fingerprint: DTLSFingerprint
    /// `EVP_PKEY *`, owned.
    let privateKey: OpaquePointer
    /// `X509 *`, owned.
    let certificate: OpaquePointer

    /// Validity starts a day early to tolerate peers whose clocks run behind.
    static let validityBefore: Int = 24 * 3600
    static let validityAfter: Int = 30 * 24 * 3600

    public init() throws {
        guard let key = Self.generateKey() else {
            throw MediaError.dtls("P-256 key generation failed: \(OpenSSLLibrary.drainErrors())")
        }
        guard let cert = Self.selfSign(key: key) else {
            EVP_PKEY_free(key)
            throw MediaError.dtls("self-signed certificate failed: \(OpenSSLLibrary.drainErrors())")
        }
        guard let fingerprint = OpenSSLLibrary.fingerprint(of: cert, algorithm: "sha-256") else {
            X509_free(cert)
            EVP_PKEY_free(key)
            throw MediaError.dtls("certificate digest failed: \(OpenSSLLibrary.drainErrors())")
        }
        self.privateKey = key
        self.certificate = cert
        self.fingerprint = fingerprint
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(privateKey)
    }

    private static func generateKey() -> OpaquePointer? {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { return nil }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1,
              EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else { return nil }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_generate(context, &key) == 1 else { return nil }
        return key
    }

    private static func selfSign(key: OpaquePointer) -> OpaquePointer? {
        guard let cert = X509_new() else { return nil }
        var ok = X509_set_version(cert, 2) == 1   // v3

        // A random positive 63-bit serial: peers do not care, but equal serials from one issuer name
        // confuse some certificate caches.
        var serialBytes = [UInt8](repeating: 0, count: 8)
        ok = ok && RAND_bytes(&serialBytes, Int32(serialBytes.count)) == 1
        serialBytes[0] &= 0x7F
        if ok, let bignum = BN_bin2bn(serialBytes, Int32(serialBytes.count), nil) {
            ok = BN_to_ASN1_INTEGER(bignum, X509_get_serialNumber(cert)) != nil
            BN_free(bignum)
        } else {
            ok = false
        }

        ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -validityBefore) != nil
        ok = ok && X509_gmtime_adj(X509_getm_notAfter(cert), validityAfter) != nil
        ok = ok && X509_set_pubkey(cert, key) == 1
        if ok, let name = X509_get_subject_name(cert) {
            ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, "sabha", -1, -1, 0) == 1
            ok = ok && X509_set_issuer_name(cert, name) == 1
        } else {
            ok = false
        }
        ok = ok && X509_sign(cert, key, EVP_sha256()) > 0
        if !ok {
            X509_free(cert)
            return nil
        }
        return cert
    }
}
