import Glibc
import Synchronization
@testable import MediaCore

/// A minimal WebRTC peer built from MediaCore's own parts (STUN client, DTLS client, SRTP), talking to a
/// MediaEngine over real loopback UDP (`init(serverPort:ufrag:)`) or to a worker in memory through a
/// `PeerLink` (`EmbeddedWorker.peer`). It plays the browser in tests of the worker.
final class LoopbackPeer {
    let link: any PeerLink
    /// The worker port this peer talks to (a transport on another worker: set it from the candidate port).
    var server: TransportAddress {
        get { (link as? UDPPeerLink)?.server ?? TransportAddress(ipv4: 0, port: 0) }
        set { (link as? UDPPeerLink)?.server = newValue }
    }
    let certificate: DTLSCertificate
    let ufrag: String
    let password = "peerpasswordpeerpassword"
    var remote: TransportDescription?
    var dtls: DTLSEndpoint?
    var inbound: SRTPSession?
    var outbound: SRTPSession?

    init(link: any PeerLink, ufrag: String) throws {
        self.link = link
        certificate = try DTLSCertificate()
        self.ufrag = ufrag
    }

    convenience init(serverPort: UInt16, ufrag: String) throws {
        try self.init(link: UDPPeerLink(serverPort: serverPort), ufrag: ufrag)
    }

    /// A peer that reaches the engine over ICE-TCP on the worker's port number.
    convenience init(tcpServerPort: UInt16, ufrag: String) throws {
        try self.init(link: TCPPeerLink(serverPort: tcpServerPort), ufrag: ufrag)
    }

    func parameters(room: String) -> TransportParameters {
        TransportParameters(room: room, label: "test \(ufrag)", remoteUfrag: ufrag, remotePassword: password,
                            remoteFingerprints: [certificate.fingerprint])
    }

    func send(_ bytes: UnsafeRawBufferPointer) { link.send(bytes) }

    func send(_ bytes: [UInt8]) { bytes.withUnsafeBytes { send($0) } }

    /// One datagram, or nil when none comes (UDP: after a 50 ms receive timeout).
    func receive() -> [UInt8]? { link.receive() }

    /// An ICE connectivity check with USE-CANDIDATE, as a controlling browser sends it.
    func sendBindingRequest(integrityKey: [UInt8]? = nil) {
        guard let remote else { return }
        var request = [UInt8](repeating: 0, count: 256)
        let length = request.withUnsafeMutableBytes {
            STUNMessage.writeBindingRequest(
                transactionID: STUNTransactionID.random(), username: "\(remote.localUfrag):\(ufrag)",
                integrityKey: integrityKey ?? Array(remote.localPassword.utf8), priority: 1_853_824_767,
                useCandidate: true, iceControlling: 42, iceControlled: nil, into: $0)
        }
        send(Array(request[0..<length]))
    }

    /// ICE, then DTLS as client, then SRTP sessions. Returns false if it did not connect within the deadline.
    func connect(deadlineMs: Int64 = 5000) throws -> Bool {
        let context = try DTLSContext(certificate: certificate, profiles: [.aeadAES128GCM, .aes128CMHMACSHA1_80])
        let dtls = try DTLSEndpoint(context: context, role: .client, remoteFingerprints: [remote!.fingerprint])
        self.dtls = dtls
        let end = MonotonicClock.milliseconds() + deadlineMs
        var gotBindingResponse = false
        while !gotBindingResponse && MonotonicClock.milliseconds() < end {
            sendBindingRequest()
            while let datagram = receive() {
                if datagram.first.map({ $0 < 4 }) == true,
                   let message = datagram.withUnsafeBytes({ STUNMessage.parse($0) }),
                   message.messageClass == .successResponse {
                    gotBindingResponse = true
                }
            }
        }
        guard gotBindingResponse else { return false }
        dtls.start()
        flushDTLS()
        while MonotonicClock.milliseconds() < end {
            if let datagram = receive() {
                if datagram[0] >= 20 && datagram[0] <= 63 {
                    datagram.withUnsafeBytes { dtls.receive($0) }
                    flushDTLS()
                }
            } else if let timeout = dtls.timeoutMilliseconds(), timeout == 0 {
                dtls.handleTimeout()
                flushDTLS()
            }
            if case .connected = dtls.state, let keys = dtls.exportSRTPKeys() {
                inbound = try SRTPSession(profile: keys.profile, key: keys.remoteKey, salt: keys.remoteSalt, direction: .inbound)
                outbound = try SRTPSession(profile: keys.profile, key: keys.localKey, salt: keys.localSalt, direction: .outbound)
                return true
            }
            if case .failed = dtls.state { return false }
        }
        return false
    }

    private func flushDTLS() {
        dtls?.drainOutgoing { send($0) }
    }

    /// Protects and sends one RTP packet.
    func sendRTP(payloadType: UInt8, sequence: UInt16, timestamp: UInt32, ssrc: UInt32, marker: Bool = false, payload: [UInt8]) {
        var packet = [UInt8](repeating: 0, count: 12 + payload.count + SRTPSession.maxTrailerLength)
        packet[0] = 0x80
        packet[1] = (marker ? 0x80 : 0) | payloadType
        packet[2] = UInt8(sequence >> 8); packet[3] = UInt8(sequence & 0xFF)
        for i in 0..<4 {
            packet[4 + i] = UInt8(truncatingIfNeeded: timestamp >> (24 - 8 * i))
            packet[8 + i] = UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * i))
        }
        packet.replaceSubrange(12..<(12 + payload.count), with: payload)
        var length = 12 + payload.count
        let status = packet.withUnsafeMutableBytes { outbound!.protectRTP($0.baseAddress!, length: &length) }
        precondition(status == .ok)
        send(Array(packet[0..<length]))
    }

    /// Protects and sends a ready-made plain RTP packet (header extensions and all).
    func sendPlainRTP(_ plain: [UInt8]) {
        var packet = plain + [UInt8](repeating: 0, count: SRTPSession.maxTrailerLength)
        var length = plain.count
        let status = packet.withUnsafeMutableBytes { outbound!.protectRTP($0.baseAddress!, length: &length) }
        precondition(status == .ok)
        send(Array(packet[0..<length]))
    }

    /// Protects and sends an RTCP compound packet.
    func sendRTCP(_ plain: [UInt8]) {
        var packet = plain + [UInt8](repeating: 0, count: SRTPSession.maxTrailerLength)
        var length = plain.count
        let status = packet.withUnsafeMutableBytes { outbound!.protectRTCP($0.baseAddress!, length: &length) }
        precondition(status == .ok)
        send(Array(packet[0..<length]))
    }

    enum Received {
        case rtp([UInt8])
        case rtcp([UInt8])
        case other([UInt8])
    }

    /// Receives and decrypts what the server sends, until the deadline.
    func receiveMedia(forMs duration: Int64, _ handle: (Received) -> Void) {
        let end = MonotonicClock.milliseconds() + duration
        while MonotonicClock.milliseconds() < end {
            guard var datagram = receive() else { continue }
            let length = datagram.count
            let cls = datagram.withUnsafeBytes { PacketClass.classify($0) }
            datagram += [UInt8](repeating: 0, count: 32)
            var plain = length
            switch cls {
            case .rtp:
                if datagram.withUnsafeMutableBytes({ inbound!.unprotectRTP($0.baseAddress!, length: &plain) }) == .ok {
                    handle(.rtp(Array(datagram[0..<plain])))
                }
            case .rtcp:
                if datagram.withUnsafeMutableBytes({ inbound!.unprotectRTCP($0.baseAddress!, length: &plain) }) == .ok {
                    handle(.rtcp(Array(datagram[0..<plain])))
                }
            default:
                handle(.other(Array(datagram[0..<length])))
            }
        }
    }
}

/// A peer's ICE consent checks every 100 ms from a thread of its own, until `stop()`. The test must not use the
/// peer meanwhile.
final class ConsentChecks: @unchecked Sendable {
    // @unchecked: `peer` is used only by the checking thread until `stop()` has waited for it to end.
    private let peer: LoopbackPeer
    private let stopped = Mutex(false)
    private var thread: pthread_t?

    init(_ peer: LoopbackPeer) {
        self.peer = peer
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        pthread_create(&handle, nil, { raw in
            let checks = Unmanaged<ConsentChecks>.fromOpaque(raw!).takeRetainedValue()
            while !checks.stopped.withLock({ $0 }) {
                checks.peer.sendBindingRequest()
                usleep(100_000)
            }
            return nil
        }, context)
        thread = handle
    }

    func stop() {
        stopped.withLock { $0 = true }
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }
}
