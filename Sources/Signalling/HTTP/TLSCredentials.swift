import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The HTTPS certificate chain and key (`--tls-cert`, `--tls-key`, PEM), read at start and again on SIGHUP. Every
/// TLS handshake takes the pair current at that moment, so a renewed certificate is used from the next connection on
/// while open connections (and the meetings on them) go on undisturbed. A reload that fails keeps the old pair.
public final class TLSCredentials: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let current: Mutex<Pair>

    /// A chain and its key, checked to belong together.
    struct Pair: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    /// What the log and `sabha doctor` say about the certificate in use.
    public struct Summary: Sendable, Equatable {
        /// The leaf's DNS names and IP addresses (subjectAltName).
        public var names: [String]
        public var notBefore: Date
        public var notAfter: Date
        /// Certificates in the chain, the leaf first.
        public var chainLength: Int
    }

    public init(certificatePath: String, keyPath: String) throws(TLSCredentialsError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        current = Mutex(try Self.load(certificatePath: certificatePath, keyPath: keyPath))
    }

    /// Reads both files again; on any error the pair in use stays, and the error says why.
    @discardableResult
    public func reload() throws(TLSCredentialsError) -> Summary {
        let pair = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        current.withLock { $0 = pair }
        return Self.summary(pair.chain)
    }

    public var summary: Summary { Self.summary(current.withLock { $0.chain }) }

    /// The server's TLS configuration: TLS 1.2 and up, HTTP/1.1 by ALPN, and the current pair at each handshake.
    public func serverConfiguration() -> TLSConfiguration {
        let pair = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: pair.chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(pair.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        configuration.sslContextCallback = { [self] _, promise in
            let pair = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    static func load(certificatePath: String, keyPath: String) throws(TLSCredentialsError) -> Pair {
        guard FileManager.default.isReadableFile(atPath: certificatePath) else {
            throw TLSCredentialsError("--tls-cert '\(certificatePath)': no such file, or not readable by this user")
        }
        guard FileManager.default.isReadableFile(atPath: keyPath) else {
            throw TLSCredentialsError("--tls-key '\(keyPath)': no such file, or not readable by this user")
        }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
            throw TLSCredentialsError("--tls-cert '\(certificatePath)': not a PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw TLSCredentialsError("--tls-cert '\(certificatePath)': no certificate in the file") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw TLSCredentialsError("--tls-key '\(keyPath)': not a PEM private key, or one protected by a passphrase (\(error))")
        }
        // Building a context checks that the key belongs to the leaf certificate.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                          privateKey: .privateKey(key)))
        } catch {
            throw TLSCredentialsError("--tls-key '\(keyPath)' does not belong to the certificate in --tls-cert '\(certificatePath)' (\(error))")
        }
        return Pair(chain: chain, key: key)
    }

    static func summary(_ chain: [NIOSSLCertificate]) -> Summary {
        let leaf = chain[0]
        return Summary(names: Self.names(of: leaf), notBefore: Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore)),
                       notAfter: Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter)), chainLength: chain.count)
    }

    /// The subjectAltName DNS names and IP addresses of a certificate, as text.
    public static func names(of certificate: NIOSSLCertificate) -> [String] {
        certificate._subjectAlternativeNames().compactMap { name -> String? in
            switch name.nameType {
            case .dnsName:
                return name.contents.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
            case .ipAddress:
                return name.contents.withUnsafeBufferPointer { bytes -> String? in
                    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    let family = bytes.count == 4 ? AF_INET : bytes.count == 16 ? AF_INET6 : -1
                    guard family >= 0, inet_ntop(family, bytes.baseAddress, &text, socklen_t(text.count)) != nil else { return nil }
                    return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            default:
                return nil
            }
        }
    }

    /// Whether a certificate with `names` is valid for `host` (RFC 6125: exact, or a wildcard for one left-most label).
    public static func covers(_ names: [String], host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return names.contains { name in
            let name = name.lowercased()
            if name == host { return true }
            guard name.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
            return host[dot...] == name.dropFirst() && host[..<dot].allSatisfy { $0 != "*" }
        }
    }
}

public struct TLSCredentialsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
