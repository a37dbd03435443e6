import COpenSSL
import Foundation
import Testing
@testable import MediaCore
import SabhaTestSupport

/// Two endpoints talking through an in-memory "network": every datagram one side drains is
/// delivered to the other, optionally through a filter that can drop it.
private struct DTLSPair {
    let server: DTLSEndpoint
    let client: DTLSEndpoint
    /// Every datagram either side sent, for size checks.
    var sent: [(from: DTLSRole, bytes: [UInt8])] = []

    init(serverProfiles: [SRTPProfile] = SRTPProfile.allCases, clientProfiles: [SRTPProfile] = SRTPProfile.allCases,
         serverExpects: ((DTLSCertificate) -> [DTLSFingerprint])? = nil,
         clientExpects: ((DTLSCertificate) -> [DTLSFingerprint])? = nil,
         clientMTU: Int = DTLSEndpoint.linkMTU, clientCipherList: String? = nil) throws {
        let serverCertificate = try DTLSCertificate()
        let clientCertificate = try DTLSCertificate()
        let serverContext = try DTLSContext(certificate: serverCertificate, profiles: serverProfiles)
        let clientContext = try DTLSContext(certificate: clientCertificate, profiles: clientProfiles)
        if let clientCipherList {
            // Test-only: a long cipher list makes the ClientHello large enough to need fragments.
            try #require(SSL_CTX_set_cipher_list(clientContext.context, clientCipherList) == 1)
        }
        server = try DTLSEndpoint(context: serverContext, role: .server,
                                  remoteFingerprints: serverExpects?(clientCertificate) ?? [clientCertificate.fingerprint])
        client = try DTLSEndpoint(context: clientContext, role: .client,
                                  remoteFingerprints: clientExpects?(serverCertificate) ?? [serverCertificate.fingerprint],
                                  mtu: clientMTU)
    }

    /// Moves datagrams both ways until neither side has anything to say. `deliver` may drop one.
    mutating func shuttle(deliver: (DTLSRole, [UInt8]) -> Bool = { _, _ in true }) {
        var moved = true
        var rounds = 0
        while moved && rounds < 100 {
            moved = false
            rounds += 1
            for (from, to) in [(client, server), (server, client)] {
                var outgoing: [[UInt8]] = []
                from.drainOutgoing { outgoing.append(Array($0)) }
                for datagram in outgoing {
                    moved = true
                    sent.append((from.role, datagram))
                    if deliver(from.role, datagram) {
                        datagram.withUnsafeBytes { to.receive($0) }
                    }
                }
            }
        }
    }

    mutating func handshake() {
        client.start()
        server.start()
        shuttle()
    }
}

@Suite("DTLS endpoint")
struct DTLSEndpointTests {
    @Test("handshake completes and both sides export mirrored keys", arguments: SRTPProfile.allCases)
    func handshakeExportsMirroredKeys(profile: SRTPProfile) throws {
        var pair = try DTLSPair(serverProfiles: [profile], clientProfiles: [profile])
        pair.handshake()
        #expect(pair.server.state == .connected)
        #expect(pair.client.state == .connected)
        #expect(pair.server.selectedProfile == profile)
        #expect(pair.client.selectedProfile == profile)

        let server = try #require(pair.server.exportSRTPKeys())
        let client = try #require(pair.client.exportSRTPKeys())
        #expect(server.profile == profile)
        #expect(client.localKey == server.remoteKey)
        #expect(client.localSalt == server.remoteSalt)
        #expect(client.remoteKey == server.localKey)
        #expect(client.remoteSalt == server.localSalt)
        #expect(client.localKey != client.remoteKey)
        #expect(client.localKey.count == 16)
        #expect(client.localSalt.count == (profile == .aeadAES128GCM ? 12 : 14))
        #expect(client.remoteSalt.count == client.localSalt.count)
    }

    @Test("exported keys protect and unprotect across the pair")
    func exportedKeysWorkWithSRTP() throws {
        var pair = try DTLSPair()
        pair.handshake()
        let server = try #require(pair.server.exportSRTPKeys())
        let client = try #require(pair.client.exportSRTPKeys())
        let sender = try SRTPSession(profile: client.profile, key: client.localKey, salt: client.localSalt, direction: .outbound)
        let receiver = try SRTPSession(profile: server.profile, key: server.remoteKey, salt: server.remoteSalt, direction: .inbound)
        var packet: [UInt8] = [0x80, 96, 0x00, 0x01, 0, 0, 0, 90, 0x11, 0x22, 0x33, 0x44] + Array(repeating: 0x5A, count: 100)
        let plain = packet
        packet += Array(repeating: 0, count: SRTPSession.maxTrailerLength)
        var length = plain.count
        #expect(packet.withUnsafeMutableBytes { sender.protectRTP($0.baseAddress!, length: &length) } == .ok)
        #expect(packet.withUnsafeMutableBytes { receiver.unprotectRTP($0.baseAddress!, length: &length) } == .ok)
        #expect(Array(packet[0..<length]) == plain)
    }

    @Test("the server's preference order picks the profile")
    func serverPreferenceWins() throws {
        var both = try DTLSPair(serverProfiles: [.aeadAES128GCM, .aes128CMHMACSHA1_80],
                                clientProfiles: [.aes128CMHMACSHA1_80, .aeadAES128GCM])
        both.handshake()
        #expect(both.server.selectedProfile == .aeadAES128GCM)
        #expect(both.client.selectedProfile == .aeadAES128GCM)

        var cmOnly = try DTLSPair(serverProfiles: [.aes128CMHMACSHA1_80],
                                  clientProfiles: [.aeadAES128GCM, .aes128CMHMACSHA1_80])
        cmOnly.handshake()
        #expect(cmOnly.server.selectedProfile == .aes128CMHMACSHA1_80)
        #expect(cmOnly.client.selectedProfile == .aes128CMHMACSHA1_80)
        #expect(cmOnly.client.exportSRTPKeys()?.localSalt.count == 14)
    }

    @Test("no common SRTP profile fails the handshake")
    func noCommonProfileFails() throws {
        var pair = try DTLSPair(serverProfiles: [.aeadAES128GCM], clientProfiles: [.aes128CMHMACSHA1_80])
        pair.handshake()
        #expect(pair.server.state != .connected)
        #expect(pair.client.state != .connected)
        #expect(pair.client.exportSRTPKeys() == nil)
    }

    @Test("a certificate that does not match the SDP fingerprint is refused", arguments: [DTLSRole.client, .server])
    func fingerprintMismatchFails(checkingSide: DTLSRole) throws {
        let wrong: (DTLSCertificate) -> [DTLSFingerprint] = { certificate in
            var value = Array(certificate.fingerprint.value)
            value[0] = value[0] == "A" ? "B" : "A"
            return [DTLSFingerprint(algorithm: "sha-256", value: String(value))]
        }
        var pair = try DTLSPair(serverExpects: checkingSide == .server ? wrong : nil,
                                clientExpects: checkingSide == .client ? wrong : nil)
        pair.handshake()
        let checker = checkingSide == .server ? pair.server : pair.client
        #expect(checker.state == .failed("fingerprint mismatch"))
        #expect(checker.selectedProfile == nil)
        #expect(checker.exportSRTPKeys() == nil)
        // Unusable afterwards: further datagrams change nothing.
        [UInt8](repeating: 22, count: 40).withUnsafeBytes { checker.receive($0) }
        #expect(checker.state == .failed("fingerprint mismatch"))
    }

    @Test("a fingerprint with another hash function is checked with that function")
    func sha1FingerprintIsAccepted() throws {
        var pair = try DTLSPair(clientExpects: { certificate in
            [DTLSFingerprint(algorithm: "sha-1", value: OpenSSLLibrary.fingerprint(of: certificate.certificate, algorithm: "sha-1")!.value)]
        })
        pair.handshake()
        #expect(pair.client.state == .connected)
    }

    @Test("flights are split into datagrams of at most 1200 bytes at record boundaries")
    func datagramsFitTheMTU() throws {
        var pair = try DTLSPair()
        pair.handshake()
        #expect(pair.client.state == .connected)
        #expect(!pair.sent.isEmpty)
        for (_, datagram) in pair.sent {
            #expect(datagram.count <= DTLSEndpoint.linkMTU)
            #expect(Self.recordsTile(datagram))
        }
    }

    @Test("a ClientHello fragmented over several datagrams is reassembled")
    func fragmentedClientHello() throws {
        // 256 is OpenSSL's smallest link MTU; OpenSSL's own ClientHello is ~220 bytes, so offer
        // every cipher suite it knows to push the ClientHello past one datagram.
        var pair = try DTLSPair(clientMTU: 256, clientCipherList: "ALL:COMPLEMENTOFALL:@SECLEVEL=0")
        pair.client.start()
        var firstFlight: [[UInt8]] = []
        pair.client.drainOutgoing { firstFlight.append(Array($0)) }
        #expect(firstFlight.count >= 2, "ClientHello sizes: \(firstFlight.map(\.count))")
        #expect(firstFlight.allSatisfy { $0.count <= 256 })
        // The later datagrams carry ClientHello fragments (type 1) at a non-zero fragment_offset.
        let second = try #require(firstFlight.dropFirst().first)
        #expect(second[0] == 22 && second[13] == 1)
        #expect(Int(second[19]) << 16 | Int(second[20]) << 8 | Int(second[21]) > 0)
        for datagram in firstFlight {
            datagram.withUnsafeBytes { pair.server.receive($0) }
        }
        pair.shuttle()
        #expect(pair.server.state == .connected)
        #expect(pair.client.state == .connected)
    }

    @Test("Chromium 156's two-datagram ClientHello gets a DTLS 1.2 ServerHello")
    func chromiumClientHello() throws {
        let datagrams = try Self.chromiumClientHello()
        #expect(datagrams.count == 2)

        let context = try DTLSContext(certificate: DTLSCertificate(), profiles: [.aeadAES128GCM, .aes128CMHMACSHA1_80])
        let server = try DTLSEndpoint(context: context, role: .server, remoteFingerprints: [])
        server.start()
        var replies: [[UInt8]] = []
        datagrams[0].withUnsafeBytes { server.receive($0) }
        server.drainOutgoing { replies.append(Array($0)) }
        #expect(replies.isEmpty, "half a ClientHello must not be answered")
        datagrams[1].withUnsafeBytes { server.receive($0) }
        server.drainOutgoing { replies.append(Array($0)) }
        #expect(server.state == .handshaking)

        let first = try #require(replies.first)
        // Record: handshake (22), version DTLS 1.2; handshake message: ServerHello (2) whose
        // server_version is DTLS 1.2 (RFC 6347 section 4.2.2, 4.3.2).
        #expect(first.count > 13 + 12 + 2)
        #expect(first[0] == 22)
        #expect(first[1] == 0xFE && first[2] == 0xFD)
        #expect(first[13] == 2)
        #expect(first[25] == 0xFE && first[26] == 0xFD)
    }

    @Test("a lost server flight is retransmitted and the handshake completes")
    func retransmissionAfterLoss() throws {
        var pair = try DTLSPair()
        pair.client.start()
        var droppedServerFlight = false
        pair.shuttle { from, _ in
            if from == .server && !droppedServerFlight { return false }
            return true
        }
        // Every datagram of the server's first flight was dropped; now let the timers run.
        #expect(pair.sent.contains { $0.from == .server })
        droppedServerFlight = true
        #expect(pair.client.state == .handshaking)
        #expect(pair.server.state == .handshaking)
        let deadline = Date().addingTimeInterval(20)
        while (pair.client.state != .connected || pair.server.state != .connected) && Date() < deadline {
            let waits = [pair.client.timeoutMilliseconds(), pair.server.timeoutMilliseconds()].compactMap { $0 }
            let wait = waits.min() ?? 10
            Thread.sleep(forTimeInterval: Double(max(wait, 1)) / 1000 + 0.005)
            pair.client.handleTimeout()
            pair.server.handleTimeout()
            pair.shuttle()
        }
        #expect(pair.client.state == .connected)
        #expect(pair.server.state == .connected)
        #expect(pair.client.exportSRTPKeys()?.localKey == pair.server.exportSRTPKeys()?.remoteKey)
    }

    @Test("close_notify closes both sides")
    func closeNotify() throws {
        var pair = try DTLSPair()
        pair.handshake()
        pair.client.close()
        #expect(pair.client.state == .closed)
        pair.shuttle()
        #expect(pair.server.state == .closed)
        #expect(pair.server.exportSRTPKeys() == nil)
    }

    @Test("random and truncated datagrams never trap the server")
    func randomDatagrams() throws {
        let context = try DTLSContext(certificate: DTLSCertificate(), profiles: SRTPProfile.allCases)
        var random = SplitMix64(seed: 0x5AB7A)
        let hello = try Self.chromiumClientHello()[0]
        for round in 0..<300 {
            let server = try DTLSEndpoint(context: context, role: .server, remoteFingerprints: [])
            var datagram: [UInt8]
            if round % 2 == 0 {
                datagram = (0..<Int(random.next() % 1500)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if !datagram.isEmpty { datagram[0] = 20 + UInt8(random.next() % 44) }
            } else {
                datagram = Array(hello.prefix(Int(random.next() % UInt64(hello.count))))
                if !datagram.isEmpty { datagram[Int(random.next() % UInt64(datagram.count))] ^= 0xFF }
            }
            datagram.withUnsafeBytes { server.receive($0) }
            server.drainOutgoing { #expect($0.count <= DTLSEndpoint.linkMTU) }
            #expect(server.state != .connected)
        }
    }

    // MARK: - Helpers

    /// True when the datagram is a whole number of DTLS records.
    static func recordsTile(_ datagram: [UInt8]) -> Bool {
        var offset = 0
        while offset + 13 <= datagram.count {
            offset += 13 + (Int(datagram[offset + 11]) << 8 | Int(datagram[offset + 12]))
        }
        return offset == datagram.count
    }

    /// The UDP payloads of Chromium's ClientHello in the fixture pcap (classic pcap, Ethernet,
    /// IPv4): DTLS handshake records (first byte 22) whose first message is a ClientHello (1).
    static func chromiumClientHello() throws -> [[UInt8]] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/pcap/chromium156-loopback-call.pcap")
        let file = try [UInt8](Data(contentsOf: url))
        func le32(_ at: Int) -> Int { Int(file[at]) | Int(file[at + 1]) << 8 | Int(file[at + 2]) << 16 | Int(file[at + 3]) << 24 }
        try #require(le32(0) == 0xA1B2C3D4)
        try #require(le32(20) == 1)   // LINKTYPE_ETHERNET
        var datagrams: [[UInt8]] = []
        var offset = 24
        while offset + 16 <= file.count {
            let captured = le32(offset + 8)
            let packet = Array(file[(offset + 16)..<min(offset + 16 + captured, file.count)])
            offset += 16 + captured
            guard packet.count > 14 + 20 + 8, packet[12] == 0x08, packet[13] == 0x00, packet[14 + 9] == 17 else { continue }
            let ipHeader = Int(packet[14] & 0x0F) * 4
            let payload = Array(packet[(14 + ipHeader + 8)...])
            if payload.count > 13, payload[0] == 22, payload[13] == 1 {
                datagrams.append(payload)
            }
        }
        return datagrams
    }
}
