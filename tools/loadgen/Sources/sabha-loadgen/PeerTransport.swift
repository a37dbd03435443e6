import CLoadgenNet
import Glibc
import MediaCore

/// One peer's connection to the server over its own UDP socket: ICE (against Sabha, which is ICE-lite, we are
/// the controlling agent and nominate with USE-CANDIDATE; against a full ICE server such as Janus we may be
/// controlled, and we answer the server's own connectivity checks either way), DTLS as client, then SRTP/SRTCP with the exported keys,
/// and consent freshness (RFC 7675: a binding request every few seconds).
///
/// Not Sendable in spirit: after `PeerThread.adopt` only that thread touches it.
final class PeerTransport {
    enum State: Equatable {
        case idle
        case checking
        case handshaking
        case connected
        case failed(String)
    }

    static let checkIntervalNs: Int64 = 50_000_000
    static let consentIntervalNs: Int64 = 5_000_000_000

    let fd: Int32
    let port: UInt16
    let ufrag: String
    let password: String
    private(set) var state: State = .idle
    private(set) var remote = RemotePeerDescription()
    private var dtls: DTLSEndpoint?
    private(set) var inbound: SRTPContext?
    private(set) var outbound: SRTPContext?
    private(set) var profile: SRTPProfile?
    /// The server's SRTP master key and salt, for further inbound contexts (`makeInboundContext`).
    private var inboundKeys: (key: [UInt8], salt: [UInt8])?

    /// Monotonic times (ns).
    private(set) var startedNs: Int64 = 0
    private(set) var connectedNs: Int64 = 0
    private var nextCheckNs: Int64 = 0
    private var deadlineNs: Int64 = 0
    private(set) var consentResponses = 0
    private(set) var lastResponseNs: Int64 = 0
    /// ICE role: controlling (nominates with USE-CANDIDATE) unless the server offered (Janus subscribers).
    var controlling = true
    private let tieBreaker = UInt64.random(in: 1...UInt64.max)
    /// The address our socket is bound to (and the candidate we signal).
    let ip: String
    private(set) var checksAnswered = 0

    init(socketBufferBytes: Int32, ip: String = "127.0.0.1") throws {
        var port: UInt16 = 0
        let fd = lg_udp_socket_at(ip, socketBufferBytes, &port)
        self.ip = ip
        guard fd >= 0 else { throw LoadgenError.socket("UDP socket: \(String(cString: strerror(-fd)))") }
        self.fd = fd
        self.port = port
        ufrag = Self.randomToken(8)
        password = Self.randomToken(24)
    }

    deinit { close(fd) }

    var isConnected: Bool { state == .connected }
    var isFailed: Bool { if case .failed = state { return true } else { return false } }

    /// Starts ICE towards the answer's candidate; the handshake must complete before `deadlineNs`.
    func start(remote: RemotePeerDescription, context: DTLSContext, now: Int64, setupTimeoutNs: Int64) {
        self.remote = remote
        startedNs = now
        deadlineNs = now + setupTimeoutNs
        let connected = lg_udp_connect(fd, remote.ip, remote.port)
        guard connected == 0 else {
            state = .failed("connect to \(remote.ip):\(remote.port): \(String(cString: strerror(-connected)))")
            return
        }
        do {
            dtls = try DTLSEndpoint(context: context, role: .client, remoteFingerprints: remote.fingerprints)
        } catch {
            state = .failed("DTLS: \(error)")
            return
        }
        state = .checking
        sendBindingRequest()
        nextCheckNs = now + Self.checkIntervalNs
    }

    /// Timers: connectivity checks until answered, DTLS retransmissions, consent, the setup deadline.
    func tick(now: Int64) {
        switch state {
        case .idle, .failed:
            return
        case .checking:
            if now >= deadlineNs { state = .failed("no ICE binding response within the setup timeout"); return }
            if now >= nextCheckNs {
                sendBindingRequest()
                nextCheckNs = now + Self.checkIntervalNs
            }
        case .handshaking:
            if now >= deadlineNs { state = .failed("DTLS handshake did not complete within the setup timeout"); return }
            if let dtls, let timeout = dtls.timeoutMilliseconds(), timeout == 0 {
                dtls.handleTimeout()
                flushDTLS()
                if case .failed(let reason) = dtls.state { state = .failed("DTLS: \(reason)") }
            }
        case .connected:
            if now >= nextCheckNs {
                sendBindingRequest()
                // 4 to 6 s apart (RFC 7675 section 5.1 wants randomised intervals).
                nextCheckNs = now + Self.consentIntervalNs - 1_000_000_000 + Int64.random(in: 0..<2_000_000_000)
            }
        }
    }

    /// STUN and DTLS datagrams (RFC 7983 first bytes 0-3 and 20-63). Returns true when the peer just connected.
    @discardableResult
    func handleControl(_ bytes: UnsafeRawBufferPointer, now: Int64) -> Bool {
        guard let first = bytes.first else { return false }
        if first < 4 {
            if let message = STUNMessage.parse(bytes), message.isBindingRequest {
                answerBindingRequest(message, bytes)
                return false
            }
            guard let message = STUNMessage.parse(bytes), message.messageClass == .successResponse,
                  message.verifyMessageIntegrity(in: bytes, key: Array(remote.password.utf8)) else { return false }
            lastResponseNs = now
            if state == .checking {
                state = .handshaking
                dtls?.start()
                flushDTLS()
            } else {
                consentResponses += 1
            }
            return false
        }
        guard first >= 20 && first <= 63, let dtls else { return false }
        dtls.receive(bytes)
        flushDTLS()
        guard state == .handshaking else { return false }
        switch dtls.state {
        case .connected:
            guard let keys = dtls.exportSRTPKeys() else { state = .failed("no SRTP keys"); return false }
            do {
                inbound = try SRTPContext(profile: keys.profile, key: keys.remoteKey, salt: keys.remoteSalt, direction: .inbound)
                outbound = try SRTPContext(profile: keys.profile, key: keys.localKey, salt: keys.localSalt, direction: .outbound)
            } catch {
                state = .failed("SRTP: \(error)")
                return false
            }
            profile = keys.profile
            inboundKeys = (keys.remoteKey, keys.remoteSalt)
            state = .connected
            connectedNs = now
            nextCheckNs = now + Self.consentIntervalNs
            return true
        case .failed(let reason):
            state = .failed("DTLS: \(reason)")
        case .closed:
            state = .failed("DTLS closed by the server")
        case .handshaking:
            break
        }
        return false
    }

    /// Another inbound SRTP context with the server's keys: one context holds `SRTPContext.streamCapacity`
    /// SSRCs, and a meeting participant receives more streams than that (`SRTPInboundShards`).
    func makeInboundContext() -> SRTPContext? {
        guard let profile, let inboundKeys else { return nil }
        return try? SRTPContext(profile: profile, key: inboundKeys.key, salt: inboundKeys.salt, direction: .inbound)
    }

    /// Sends one datagram on the connected socket (control traffic; media goes through `PeerThread.flush`).
    func send(_ bytes: UnsafeRawBufferPointer) {
        _ = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT))
    }

    private func sendBindingRequest() {
        var request = [UInt8](repeating: 0, count: 256)
        let length = request.withUnsafeMutableBytes {
            STUNMessage.writeBindingRequest(
                transactionID: STUNTransactionID.random(), username: "\(remote.ufrag):\(ufrag)",
                integrityKey: Array(remote.password.utf8), priority: 2_130_706_431,
                useCandidate: controlling, iceControlling: controlling ? tieBreaker : nil,
                iceControlled: controlling ? nil : tieBreaker, into: $0)
        }
        request.withUnsafeBytes { send(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

    /// A full ICE server checks our candidate too: answer its binding requests (USERNAME "ours:theirs",
    /// integrity with our password). The socket is connected, so the sender is the server's candidate.
    private func answerBindingRequest(_ message: STUNMessage, _ bytes: UnsafeRawBufferPointer) {
        guard state != .idle, message.verifyMessageIntegrity(in: bytes, key: Array(password.utf8)),
              message.username?.hasPrefix("\(ufrag):") == true,
              let mapped = TransportAddress(ip: remote.ip, port: remote.port) else { return }
        var response = [UInt8](repeating: 0, count: 128)
        let length = response.withUnsafeMutableBytes {
            STUNMessage.writeBindingSuccess(transactionID: message.transactionID, mappedAddress: mapped,
                                            integrityKey: Array(password.utf8), into: $0)
        }
        guard length > 0 else { return }
        checksAnswered += 1
        response.withUnsafeBytes { send(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

    private func flushDTLS() {
        dtls?.drainOutgoing { send($0) }
    }

    static func randomToken(_ count: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }
}
