import COpenSSL
import Foundation
import Testing
@testable import MediaCore

@Suite("DTLS certificate")
struct DTLSCertificateTests {
    @Test("fingerprint is SHA-256 as upper-case hex with colons, and differs per certificate")
    func fingerprintFormat() throws {
        let certificate = try DTLSCertificate()
        #expect(certificate.fingerprint.algorithm == "sha-256")
        let value = certificate.fingerprint.value
        #expect(value.count == 32 * 3 - 1)
        let groups = value.split(separator: ":")
        #expect(groups.count == 32)
        #expect(groups.allSatisfy { $0.count == 2 && $0.allSatisfy { "0123456789ABCDEF".contains($0) } })
        #expect(try DTLSCertificate().fingerprint != certificate.fingerprint)
    }

    @Test("fingerprint is the SHA-256 of the DER certificate")
    func fingerprintIsDigestOfDER() throws {
        let certificate = try DTLSCertificate()
        var derPointer: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_X509(certificate.certificate, &derPointer)
        try #require(length > 0)
        defer { CRYPTO_free(derPointer, #file, #line) }
        var digest = [UInt8](repeating: 0, count: 32)
        var digestLength: UInt32 = 0
        try #require(EVP_Digest(derPointer, Int(length), &digest, &digestLength, EVP_sha256(), nil) == 1)
        let expected = digest.map { String(format: "%02X", $0) }.joined(separator: ":")
        #expect(certificate.fingerprint.value == expected)
    }

    @Test("self-signed P-256 certificate, CN sabha, valid from yesterday for 30 days")
    func certificateContents() throws {
        let certificate = try DTLSCertificate()
        let cert = certificate.certificate
        #expect(X509_verify(cert, certificate.privateKey) == 1)
        #expect(X509_get_version(cert) == 2)

        var buffer = [CChar](repeating: 0, count: 256)
        let subject = String(cString: X509_NAME_oneline(X509_get_subject_name(cert), &buffer, Int32(buffer.count)))
        #expect(subject == "/CN=sabha")
        let issuer = String(cString: X509_NAME_oneline(X509_get_issuer_name(cert), &buffer, Int32(buffer.count)))
        #expect(issuer == "/CN=sabha")

        let key = try #require(X509_get0_pubkey(cert))
        #expect(EVP_PKEY_get_base_id(key) == EVP_PKEY_EC)
        var group = [CChar](repeating: 0, count: 64)
        var groupLength = 0
        #expect(EVP_PKEY_get_group_name(key, &group, group.count, &groupLength) == 1)
        #expect(String(cString: group) == "prime256v1")

        var days: Int32 = 0, seconds: Int32 = 0
        #expect(ASN1_TIME_diff(&days, &seconds, nil, X509_get0_notBefore(cert)) == 1)
        #expect(days == -1 || (days == 0 && seconds <= -86_000))
        #expect(ASN1_TIME_diff(&days, &seconds, nil, X509_get0_notAfter(cert)) == 1)
        #expect(days == 29 || days == 30)

        let serial = try #require(ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nil))
        defer { BN_free(serial) }
        #expect(BN_is_zero(serial) == 0)
        #expect(BN_is_negative(serial) == 0)
    }
}
