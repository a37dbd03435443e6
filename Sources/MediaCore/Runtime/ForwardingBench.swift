/// The RTP forwarding path of `MediaWorker` without sockets, for the `Benchmarks/` package: one publisher
/// transport with one video producer, `viewers` subscriber transports each with a consumer of it, real SRTP
/// sessions on both sides and a packet pool.
///
/// `forward(_:)` runs what `MediaWorker.handleDatagram` → `handleRTP` → `forward` run for an RTP datagram:
/// classify, find the transport by source address, unprotect, parse, bind the stream to its producer layer, read
/// the VP8 descriptor, store the packet for NACKs, then per consumer `Consumer.accept`, a pool buffer, a
/// transport-wide sequence number, `Consumer.write`, `protectRTP`, `Consumer.noteForwarded` and the send history
/// (the same functions the worker calls). Where the worker would queue the copies for `sendmmsg`, it releases them.
/// No kernel I/O is measured. The worker's SRTP is `SRTPContext` (ours, on OpenSSL EVP), as in `MediaWorker`; the
/// publisher's own side is libsrtp2 (`SRTPSession`), as a browser's would be. Without a profile it skips the two
/// SRTP calls and forwards plain RTP: what is left is the Swift part of the path.
///
/// Not API: exposed under `@_spi(Benchmarks)` only. Not thread-safe, like the worker it imitates.
@_spi(Benchmarks)
public final class ForwardingBench {
    /// nil: no SRTP at all, plain RTP in and out.
    public let profile: SRTPProfile?
    public let viewers: Int

    private let pool: PacketBufferPool
    /// The browser's side of the publisher's SRTP: protects what it "sends" to us.
    private let publisherSender: SRTPSession?
    private let publisher: WebRTCTransport
    private let producer: Producer
    /// Subscriber transports own their consumers; consumers hold them `unowned`, so keep them alive here.
    private let viewerTransports: [WebRTCTransport]
    private var transportsByAddress: [TransportAddress: WebRTCTransport] = [:]
    private let source: TransportAddress

    private let template: [UInt8]
    /// Received datagrams, as the worker's receive batch holds them: pool buffers and their lengths.
    private let inputBuffers: [Int32]
    private let inputLengths: UnsafeMutablePointer<Int>
    private var nextSequence: UInt16
    /// Copies of the current packet, held until the end of `forward(_:)` like the worker's send batch.
    private let held: UnsafeMutablePointer<Int32>

    /// Packets forwarded so far (copies, not inputs).
    public private(set) var forwarded: UInt64 = 0

    /// - Parameters:
    ///   - packet: a plain RTP packet as the publisher sends it (its sequence number is replaced for
    ///     every input, so the replay window always sees a new one).
    ///   - batch: how many inputs `prepare()` makes, to forward with `forward(0..<batch)`.
    public init(profile: SRTPProfile?, viewers: Int, packet: [UInt8], batch: Int) throws {
        guard let header = packet.withUnsafeBytes({ RTPHeader.parse($0) }) else {
            throw MediaError.configuration("ForwardingBench: the template is not an RTP packet")
        }
        precondition(viewers >= 1 && batch >= 1)
        precondition(packet.count + SRTPContext.maxTrailerLength <= PacketBufferPool.bufferSize)
        self.profile = profile
        self.viewers = viewers
        self.template = packet
        self.nextSequence = header.sequenceNumber
        let pool = PacketBufferPool(capacity: batch + viewers)
        self.pool = pool
        self.inputBuffers = (0..<batch).map { _ in pool.acquire()! }
        self.inputLengths = .allocate(capacity: batch)
        self.inputLengths.initialize(repeating: 0, count: batch)
        self.held = .allocate(capacity: viewers)

        let dtlsContext = try DTLSContext(certificate: try DTLSCertificate(), profiles: [profile ?? .aeadAES128GCM])
        func makeTransport(_ index: Int) throws -> WebRTCTransport {
            let dtls = try DTLSEndpoint(context: dtlsContext, role: .server, remoteFingerprints: [])
            let parameters = TransportParameters(
                room: "bench", label: "peer \(index)", remoteUfrag: "r\(index)", remotePassword: "remote-password-\(index)",
                remoteFingerprints: [])
            let transport = WebRTCTransport(id: TransportID(UInt64(index)), parameters: parameters, localUfrag: "l\(index)",
                                            localPassword: "local-password-\(index)", dtls: dtls, now: 0)
            transport.selected = TransportAddress(ipv4: 0x0A00_0000 | UInt32(index), port: 50_000)
            transport.addresses = [transport.selected!]
            transport.profile = profile
            return transport
        }
        func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }
        func session(_ direction: SRTPDirection, key: [UInt8]? = nil, salt: [UInt8]? = nil) throws -> SRTPContext? {
            guard let profile else { return nil }
            return try SRTPContext(profile: profile, key: key ?? randomBytes(profile.masterKeyLength),
                                   salt: salt ?? randomBytes(profile.masterSaltLength), direction: direction)
        }

        var extensions = HeaderExtensionIDs()
        extensions.absSendTime = 2
        extensions.transportWideCC = 3
        extensions.mid = 4

        // Publisher: what it protects, we unprotect with the same key.
        let key = randomBytes(profile?.masterKeyLength ?? 0)
        let salt = randomBytes(profile?.masterSaltLength ?? 0)
        // The browser's side stays libsrtp2: what it protects, our SRTPContext must unprotect.
        publisherSender = try profile.map { try SRTPSession(profile: $0, key: key, salt: salt, direction: .outbound) }
        publisher = try makeTransport(0)
        publisher.srtpInbound = try session(.inbound, key: key, salt: salt)
        publisher.srtpOutbound = try session(.outbound)
        producer = Producer(
            id: ProducerID(1), transport: publisher, home: 0,
            parameters: ProducerParameters(kind: .video, mid: "0", ssrcs: [header.ssrc], payloadType: header.payloadType,
                                           clockRate: 90_000, extensions: extensions))
        publisher.producers.append(producer)
        publisher.streamsBySSRC[header.ssrc] = StreamBinding(producer: producer, layer: 0, isRTX: false)
        source = publisher.selected!
        transportsByAddress[source] = publisher

        var subscribers: [WebRTCTransport] = []
        for index in 1...viewers {
            let transport = try makeTransport(index)
            transport.srtpOutbound = try session(.outbound)
            // As for a browser viewer: transport-wide sequence numbers on every packet, a send history and an estimator.
            transport.sendHistory = TransportWideSendHistory()
            transport.estimator = SendSideBandwidthEstimator()
            let consumer = Consumer(
                id: ConsumerID(UInt64(index)), transport: transport, producer: producer,
                parameters: ConsumerParameters(producer: producer.id, mid: "0", ssrc: UInt32.random(in: 1...UInt32.max),
                                               payloadType: header.payloadType, extensions: extensions))
            // Steady state: the viewers have had their keyframe.
            consumer.startWithoutKeyframe()
            transport.consumers.append(consumer)
            transport.consumersBySSRC[consumer.parameters.ssrc] = consumer
            producer.consumers.append(consumer)
            transportsByAddress[transport.selected!] = transport
            subscribers.append(transport)
        }
        viewerTransports = subscribers
    }

    deinit {
        held.deallocate()
        inputLengths.deallocate()
    }

    public var batch: Int { inputBuffers.count }

    /// Fills every input with the publisher's next packets, SRTP-protected with consecutive sequence
    /// numbers. This is the browser's work, not ours: keep it out of the measurement.
    public func prepare() {
        for (index, buffer) in inputBuffers.enumerated() {
            let input = pool.pointer(buffer)
            template.withUnsafeBytes { input.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            nextSequence &+= 1
            RTPHeader.setSequenceNumber(nextSequence, in: input)
            var length = template.count
            if let publisherSender {
                let status = publisherSender.protectRTP(input, length: &length)
                precondition(status == .ok, "publisher protect failed: \(status)")
            }
            inputLengths[index] = length
        }
    }

    /// Forwards input `index` to every viewer; returns the number of copies made (`viewers` unless
    /// something failed, 0 for an input already forwarded: it is decrypted in place, `prepare()` again).
    public func forward(_ index: Int) -> Int {
        let input = pool.pointer(inputBuffers[index])
        let inputLength = inputLengths[index]
        inputLengths[index] = 0
        let bytes = UnsafeRawBufferPointer(start: input, count: inputLength)
        guard PacketClass.classify(bytes) == .rtp else { return 0 }
        guard let transport = transportsByAddress[source] else { return 0 }
        var plainLength = inputLength
        if profile != nil {
            guard let srtp = transport.srtpInbound, srtp.unprotectRTP(input, length: &plainLength) == .ok else { return 0 }
        }
        let packet = UnsafeRawBufferPointer(start: input, count: plainLength)
        guard let header = RTPHeader.parse(packet), let binding = transport.binding(for: header, packet) else { return 0 }
        let producer = binding.producer
        let layer = producer.layers[binding.layer]
        layer.noteSequence(header.sequenceNumber)
        guard header.payloadType == producer.parameters.payloadType else { return 0 }
        var incoming = IncomingPacket(header: header)
        guard incoming.readVP8(packet) else { return 0 }
        layer.retransmissions?.store(packet, sequence: header.sequenceNumber, nowMs: 0)

        var count = 0
        for consumer in producer.consumers {
            let viewer = consumer.transport
            var needsKeyframe = false
            guard viewer.selected != nil,
                  let numbers = consumer.accept(incoming, nowMs: 0, needsKeyframe: &needsKeyframe) else { continue }
            guard let buffer = pool.acquire() else { break }
            let out = pool.pointer(buffer)
            let transportSequence = viewer.sendHistory.map { Int($0.nextSequence()) } ?? -1
            var length = consumer.write(incoming, packet, numbers, transportSequence: transportSequence, rtx: false, into: out)
            if profile != nil {
                guard let outbound = viewer.srtpOutbound, outbound.protectRTP(out, length: &length) == .ok else {
                    pool.release(buffer)
                    continue
                }
            }
            consumer.noteForwarded(incoming, numbers)
            if transportSequence >= 0 {
                viewer.sendHistory?.record(sequence: UInt16(truncatingIfNeeded: transportSequence), sentMicroseconds: 0,
                                           size: length, isProbe: false)
            }
            held[count] = buffer
            count += 1
        }
        // The worker would hand these to sendmmsg here, then release them.
        for i in 0..<count { pool.release(held[i]) }
        forwarded &+= UInt64(count)
        return count
    }
}
