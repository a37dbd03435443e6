/// A real `MediaWorker` on memory I/O, for the `Benchmarks/` package and `tools/bench/callgrind.sh`: one publisher
/// transport with one VP8 producer and `viewers` subscriber transports each with a consumer of it, set up through
/// the worker's own command handlers, with SRTP keys installed as DTLS would (no handshake) and each peer's address
/// bound as ICE would.
///
/// `forward(_:)` hands one SRTP datagram to the worker's I/O and runs the worker's receive path on it: the same
/// code the server runs, from `recvmmsg`'s slot to `sendmmsg`'s (classify, transport by address, unprotect, parse,
/// stream binding, transport-wide feedback record, VP8 descriptor, receive statistics, NACK generator,
/// retransmission buffer, then per viewer accept, rewrite, protect, send history and the send batch, flushed into
/// the memory I/O, which only counts). The publisher's own protection (libsrtp2 `SRTPSession`, as a browser's
/// would be) happens in `prepare()`, outside the measurement. The worker always runs SRTP: there is no plain mode,
/// as there is none in the server (the earlier copy of the path, `ForwardingBench`, had one).
///
/// Not API: exposed under `@_spi(Benchmarks)` only. Not thread-safe, like the worker.
@_spi(Benchmarks)
public final class WorkerBench {
    public let profile: SRTPProfile
    public let viewers: Int
    /// Relays to other nodes the producer is also sent over (each one copy per packet, like a viewer).
    public let relays: Int

    private let io: MemoryDatagramIO
    private let worker: MediaWorker<MemoryDatagramIO, ManualClock>
    private let events: EventChannel
    private let publisherSender: SRTPSession
    private let publisherAddress: TransportAddress
    private let template: [UInt8]
    /// Prepared datagrams: the publisher's next packets, already protected.
    private let inputs: UnsafeMutableRawPointer
    private let inputLengths: UnsafeMutablePointer<Int>
    private let batchSize: Int
    private var nextSequence: UInt16
    private var sentBefore: UInt64 = 0

    /// - Parameters:
    ///   - packet: a plain RTP packet as the publisher sends it (its sequence number is replaced for every input,
    ///     so the replay window always sees a new one).
    ///   - batch: how many inputs `prepare()` makes, to forward with `forward(0..<batch)`.
    ///   - relays: relays to other nodes of a cluster the producer is sent over too (no ICE or DTLS, keys given).
    public init(profile: SRTPProfile, viewers: Int, relays: Int = 0, packet: [UInt8], batch: Int) throws {
        guard let header = packet.withUnsafeBytes({ RTPHeader.parse($0) }) else {
            throw MediaError.configuration("WorkerBench: the template is not an RTP packet")
        }
        precondition(viewers >= 1 && batch >= 1)
        precondition(packet.count + SRTPContext.maxTrailerLength <= PacketBufferPool.bufferSize)
        self.profile = profile
        self.viewers = viewers
        self.relays = relays
        self.template = packet
        self.batchSize = batch
        self.nextSequence = header.sequenceNumber
        inputs = .allocate(byteCount: batch * PacketBufferPool.bufferSize, alignment: 64)
        inputLengths = .allocate(capacity: batch)
        inputLengths.initialize(repeating: 0, count: batch)

        var configuration = MediaEngineConfiguration()
        configuration.logHandler = { _ in }
        configuration.poolSize = 2 * DatagramBatch.capacity + 64 + viewers + relays
        io = MemoryDatagramIO(capacity: 64, capturesSent: false)
        events = try EventChannel(logHandler: { _ in })
        let dtlsContext = try DTLSContext(certificate: try DTLSCertificate(), profiles: [profile])
        worker = try MediaWorker(index: 0, io: io, clock: ManualClock(), configuration: configuration,
                                 dtlsContext: dtlsContext, events: events)

        var extensions = HeaderExtensionIDs()
        extensions.absSendTime = 2
        extensions.transportWideCC = 3
        extensions.mid = 4
        let key = Self.randomBytes(profile.masterKeyLength)
        let salt = Self.randomBytes(profile.masterSaltLength)
        publisherSender = try SRTPSession(profile: profile, key: key, salt: salt, direction: .outbound)
        publisherAddress = TransportAddress(ipv4: 0x0A00_0000, port: 50_000)
        let publisher = try connect(index: 0, remoteKey: key, remoteSalt: salt)
        let producer = ProducerID(1)
        try worker.addProducer(producer, ProducerParameters(kind: .video, mid: "0", ssrcs: [header.ssrc],
                                                            payloadType: header.payloadType, clockRate: 90_000,
                                                            extensions: extensions, feedback: [.nack, .pli, .transportCC]),
                               on: publisher)
        for index in 1...viewers {
            let transport = try connect(index: index, remoteKey: Self.randomBytes(key.count), remoteSalt: Self.randomBytes(salt.count))
            // As for a browser viewer: transport-wide sequence numbers on every packet, a send history and an estimator.
            try worker.addConsumer(ConsumerID(UInt64(index)),
                                   ConsumerParameters(producer: producer, mid: "0", ssrc: UInt32.random(in: 1...UInt32.max),
                                                      payloadType: header.payloadType, extensions: extensions,
                                                      feedback: [.nack, .pli, .transportCC]),
                                   on: transport, piped: nil)
            // Steady state: the viewers have had their keyframe.
            worker.tables.consumers[ConsumerID(UInt64(index))]?.startWithoutKeyframe()
        }
        for index in 0..<relays {
            let id = TransportID(UInt64(1_000 + index))
            let keys = SRTPKeyingMaterial(profile: profile, localKey: Self.randomBytes(profile.masterKeyLength),
                                          localSalt: Self.randomBytes(profile.masterSaltLength),
                                          remoteKey: Self.randomBytes(profile.masterKeyLength),
                                          remoteSalt: Self.randomBytes(profile.masterSaltLength))
            try worker.createRelay(id, RelayParameters(room: "bench", label: "relay \(index)", remoteIP: "10.1.0.\(index + 1)",
                                                       remotePort: 40_000, keys: keys, rtcpSSRC: UInt32(7_000 + index),
                                                       inboundSSRCs: [UInt32(8_000 + index)]))
            _ = try worker.relayProducer(producer, over: id, ssrcs: [UInt32(9_000 + index)])
        }
        // What the set-up queued (the relays' keyframe requests to the publisher) is not the measured packets'.
        worker.sender.flush()
        sentBefore = io.sentCount
    }

    deinit {
        inputs.deallocate()
        inputLengths.deallocate()
    }

    /// A transport as after ICE (its peer's address bound and selected) and DTLS (SRTP keys installed).
    private func connect(index: Int, remoteKey: [UInt8], remoteSalt: [UInt8]) throws -> TransportID {
        let id = TransportID(UInt64(index + 1))
        try worker.createTransport(id, TransportParameters(room: "bench", label: "peer \(index)", remoteUfrag: "r\(index)",
                                                           remotePassword: "remote-password-\(index)", remoteFingerprints: []),
                                   localUfrag: "l\(index)", localPassword: "local-password-\(index)")
        let transport = worker.tables.transports[id]!
        let address = index == 0 ? publisherAddress : TransportAddress(ipv4: 0x0A00_0000 | UInt32(index), port: 50_000)
        worker.tables.bind(address, to: transport)
        transport.selected = address
        let keys = SRTPKeyingMaterial(profile: profile, localKey: Self.randomBytes(profile.masterKeyLength),
                                      localSalt: Self.randomBytes(profile.masterSaltLength), remoteKey: remoteKey, remoteSalt: remoteSalt)
        try worker.installKeys(keys, on: transport)
        return id
    }

    private static func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

    public var batch: Int { batchSize }

    /// Packets the worker sent (copies, not inputs).
    public var forwarded: UInt64 { worker.local.rtpForwarded }

    /// Fills every input with the publisher's next packets, SRTP-protected with consecutive sequence
    /// numbers. This is the browser's work, not ours: keep it out of the measurement.
    public func prepare() {
        for index in 0..<batchSize {
            let input = inputs + index * PacketBufferPool.bufferSize
            template.withUnsafeBytes { input.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            nextSequence &+= 1
            RTPHeader.setSequenceNumber(nextSequence, in: input)
            var length = template.count
            let status = publisherSender.protectRTP(input, length: &length)
            precondition(status == .ok, "publisher protect failed: \(status)")
            inputLengths[index] = length
        }
    }

    /// Runs input `index` through the worker (receive, route, forward to every viewer, send batch flushed);
    /// returns the datagrams it sent (`viewers + relays` unless something failed; 0 for an input already used).
    public func forward(_ index: Int) -> Int {
        let length = inputLengths[index]
        inputLengths[index] = 0
        guard length > 0 else { return 0 }
        io.deliver(UnsafeRawBufferPointer(start: inputs + index * PacketBufferPool.bufferSize, count: length), from: publisherAddress)
        worker.receiveAvailable()
        let sent = io.sentCount - sentBefore
        sentBefore = io.sentCount
        return Int(sent)
    }

    /// A Chromium-style VP8 packet of `length` bytes: V=2, X=1, PT 96, a one-byte-form extension block with
    /// abs-send-time (id 2, 3 bytes), transport-wide-cc (id 3, 2 bytes) and mid (id 4, "0"), a 4-byte VP8
    /// payload descriptor with a 15-bit picture ID, then payload bytes.
    public static func chromiumVideoPacket(length: Int = 1200, sequenceNumber: UInt16 = 4711) -> [UInt8] {
        var elements = [UInt8](repeating: 0, count: 16)
        var used = 0
        elements.withUnsafeMutableBytes { out in
            let absSendTime: [UInt8] = [0x3A, 0x51, 0x07]
            let twcc: [UInt8] = [0x01, 0x2C]
            let mid: [UInt8] = Array("0".utf8)
            for (id, data) in [(UInt8(2), absSendTime), (3, twcc), (4, mid)] {
                used += data.withUnsafeBytes { RTPHeader.encodeOneByteElement(id: id, data: $0, into: out, at: used) }
            }
        }
        var packet = [UInt8](repeating: 0, count: length)
        let headerLength = packet.withUnsafeMutableBytes { out in
            elements.withUnsafeBytes { ext in
                RTPHeader.write(
                    marker: false, payloadType: 96, sequenceNumber: sequenceNumber, timestamp: 0x1234_5678,
                    ssrc: 0x0BAD_CAFE, oneByteExtensions: UnsafeRawBufferPointer(rebasing: ext[0..<used]), into: out)
            }
        }
        precondition(headerLength == 28, "unexpected RTP header length \(headerLength)")
        // VP8 payload descriptor (RFC 7741 4.2): X=1 S=1 PID=0 | I=1 | M=1 + 15-bit picture ID.
        packet[28] = 0x90
        packet[29] = 0x80
        packet[30] = 0x80 | 0x12
        packet[31] = 0x34
        var generator = SystemRandomNumberGenerator()
        for i in 32..<length { packet[i] = UInt8.random(in: 0...255, using: &generator) }
        return packet
    }
}
