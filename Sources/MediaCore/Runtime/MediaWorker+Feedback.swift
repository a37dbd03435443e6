import Glibc

/// RTCP both ways: viewers' feedback (NACKs served from our buffers, keyframe requests aggregated towards the
/// publisher, TWCC and REMB into the bandwidth estimate) and ours to publishers (receiver reports, NACKs,
/// transport-wide feedback, PLIs). Runs on the worker thread only.
extension MediaWorker {
    /// How often we NACK publishers and send them transport-wide feedback.
    static let feedbackIntervalMs: Int64 = 50
    /// A packet is resent to a viewer at most once per this interval, however many NACKs name it.
    static let retransmitIntervalMs: Int64 = 40
    /// Round-trip time assumed for NACK retries until we measure it.
    static let assumedRTTMs: Int64 = 50

    func handleRTCP(_ data: UnsafeMutableRawPointer, length: Int, from source: TransportAddress, now: Int64) {
        guard let transport = transportsByAddress[source] else { local.drop(.unknownSource); return }
        guard let srtp = transport.srtpInbound else { local.drop(.notConnected); return }
        var plainLength = length
        guard accepted(srtp.unprotectRTCP(data, length: &plainLength)) else { return }
        let compound = RTCPCompound(UnsafeRawBufferPointer(start: data, count: plainLength))
        for packet in compound {
            switch packet.packetType {
            case RTCPPacketType.payloadSpecificFeedback:
                handlePayloadFeedback(packet, on: transport, now: now)
            case RTCPPacketType.transportFeedback:
                handleTransportFeedback(packet, on: transport, now: now)
            case RTCPPacketType.senderReport:
                if let report = RTCPSenderReport.parse(packet) { noteSenderReport(report, on: transport) }
            case RTCPPacketType.receiverReport:
                if let estimator = transport.estimator, let report = RTCPReceiverReport.parse(packet), report.reportCount > 0 {
                    estimator.onReceiverReport(fractionLost: report.reportBlock(0).fractionLost,
                                               nowMicroseconds: batchMicroseconds)
                }
            default:
                break
            }
        }
        if !compound.isWellFormed { local.drop(.rtcpMalformed) }
        flushPadding(transport, now: now)
    }

    /// A publisher's SR: kept on its layer, and passed to the workers its packets are piped to.
    private func noteSenderReport(_ report: RTCPSenderReport, on transport: WebRTCTransport) {
        guard let binding = transport.streamsBySSRC[report.ssrc], !binding.isRTX else { return }
        let producer = binding.producer
        producer.layers[binding.layer].noteSenderReport(ntp: report.ntpTimestamp, rtp: report.rtpTimestamp,
                                                        nowMicroseconds: batchMicroseconds)
        for worker in producer.pipes {
            tell(worker: worker, .senderReport(producer.id, layer: binding.layer, ntp: report.ntpTimestamp, rtp: report.rtpTimestamp))
        }
    }

    /// Once a second, an SR for every consumer that has sent media, in one compound per viewer transport: the
    /// publisher's last NTP ↔ RTP mapping for the layer the consumer is on, carried forward by the time since it
    /// arrived and put in the viewer's RTP time. Browsers need SRs to synchronise audio with video.
    func sendSenderReports(nowMicroseconds: Int64) {
        for transport in transports.values where transport.isConnected && !transport.consumers.isEmpty {
            guard let srtp = transport.srtpOutbound, let destination = transport.selected else { continue }
            var buffer: Int32?
            var length = 0
            let room = PacketBufferPool.bufferSize - SRTPContext.maxTrailerLength
            for consumer in transport.consumers where consumer.packetsSent > 0 {
                let layer = consumer.producer.layers[max(0, min(consumer.currentSpatial, consumer.producer.layers.count - 1))]
                guard layer.senderReportArrivalMicroseconds >= 0 else { continue }
                let elapsed = nowMicroseconds - layer.senderReportArrivalMicroseconds
                guard elapsed >= 0, elapsed < Self.senderReportMaxAgeMicroseconds else { continue }
                if buffer == nil {
                    guard let taken = pool.acquire() else { return }
                    buffer = taken
                }
                let out = pool.pointer(buffer!)
                let ntp = layer.senderReportNTP &+ UInt64(elapsed) * (1 << 32) / 1_000_000
                let rtp = layer.senderReportRTP &+ UInt32(truncatingIfNeeded: elapsed * Int64(consumer.clockRate) / 1_000_000)
                let written = RTCPSenderReport.write(
                    ssrc: consumer.parameters.ssrc, ntpTimestamp: ntp, rtpTimestamp: consumer.outputTimestamp(forInput: rtp),
                    packetCount: UInt32(truncatingIfNeeded: consumer.packetsSent),
                    octetCount: UInt32(truncatingIfNeeded: consumer.octetsSent),
                    into: UnsafeMutableRawBufferPointer(start: out + length, count: room - length))
                length += written
                if written == 0 || room - length < 28 {
                    sendRTCP(buffer!, length: length, srtp: srtp, to: destination)
                    buffer = nil
                    length = 0
                }
            }
            if let buffer {
                if length > 0 { sendRTCP(buffer, length: length, srtp: srtp, to: destination) } else { pool.release(buffer) }
            }
        }
    }

    /// A publisher that stopped sending SRs: after this, its viewers get none rather than a drifting guess.
    static let senderReportMaxAgeMicroseconds: Int64 = 30_000_000

    /// Protects the RTCP written into `buffer` and queues it; on failure (nothing written, SRTP refused) the
    /// buffer goes back to the pool. True when queued.
    @discardableResult
    private func sendRTCP(_ buffer: Int32, length: Int, srtp: SRTPContext, to destination: TransportAddress) -> Bool {
        var length = length
        guard length > 0, srtp.protectRTCP(pool.pointer(buffer), length: &length, capacity: PacketBufferPool.bufferSize) == .ok else {
            pool.release(buffer)
            return false
        }
        enqueueSend(buffer: buffer, length: length, to: destination)
        return true
    }

    /// PLI/FIR (one throttled keyframe request to the publisher) and REMB (RFC draft-alvestrand-rmcat-remb).
    private func handlePayloadFeedback(_ packet: RTCPHeaderView, on transport: WebRTCTransport, now: Int64) {
        var mediaSSRC: UInt32?
        switch packet.count {
        case RTCPPictureLossIndication.format:
            mediaSSRC = RTCPPictureLossIndication.parse(packet)?.mediaSSRC
        case RTCPFullIntraRequest.format:
            if let fir = RTCPFullIntraRequest.parse(packet), fir.entryCount > 0 { mediaSSRC = fir.entry(0).ssrc }
        case RTCPReceiverEstimatedMaxBitrate.format:
            if let remb = RTCPReceiverEstimatedMaxBitrate.parse(packet) {
                if transport.estimator == nil, transport.consumers.contains(where: { $0.parameters.feedback.contains(.remb) }) {
                    transport.estimator = SendSideBandwidthEstimator()
                }
                // With transport-cc the estimate is ours; REMB is only the fallback.
                if let estimator = transport.estimator, transport.sendHistory == nil {
                    estimator.onREMB(bitrate: Int(clamping: remb.bitrate), nowMicroseconds: batchMicroseconds)
                }
            }
            return
        default:
            return
        }
        guard let ssrc = mediaSSRC, let consumer = transport.consumersBySSRC[ssrc] else { return }
        let layer = consumer.currentSpatial >= 0 ? consumer.currentSpatial : consumer.targetSpatial
        requestKeyframe(consumer.producer, layer: layer, now: now)
    }

    /// Generic NACK (served from the retransmission buffers, never passed to the publisher) and TWCC feedback.
    private func handleTransportFeedback(_ packet: RTCPHeaderView, on transport: WebRTCTransport, now: Int64) {
        switch packet.count {
        case RTCPGenericNACK.format:
            guard let nack = RTCPGenericNACK.parse(packet), let consumer = transport.consumersBySSRC[nack.mediaSSRC] else { return }
            for sequence in nack.lostSequenceNumbers {
                local.nackedPacketsReceived &+= 1
                retransmit(sequence, of: consumer, now: now)
            }
        case RTCPTransportWideFeedback.format:
            guard let history = transport.sendHistory, let estimator = transport.estimator else { return }
            if !estimator.onTransportFeedback(packet, history: history, nowMicroseconds: batchMicroseconds) {
                local.drop(.rtcpMalformed)
            }
        default:
            break
        }
    }

    /// Resends what `consumer` sent as `sequence`, rewritten exactly as the first time, as RTX when negotiated.
    private func retransmit(_ sequence: UInt16, of consumer: Consumer, now: Int64) {
        let transport = consumer.transport
        guard let log = consumer.sent, let entry = log.entry(sequence),
              now - entry.pointee.resentMs >= Self.retransmitIntervalMs, transport.retransmitBudget > 0,
              let srtp = transport.srtpOutbound, let destination = transport.selected else { return }
        let layers = consumer.producer.layers
        guard Int(entry.pointee.layer) < layers.count,
              let original = layers[Int(entry.pointee.layer)].retransmissions?.packet(sequence: entry.pointee.sourceSequence, nowMs: now),
              let header = RTPHeader.parse(original) else { return }
        var packet = IncomingPacket(header: header)
        packet.spatialLayer = Int(entry.pointee.layer)
        guard packet.readVP8(original) else { return }
        entry.pointee.resentMs = now
        let numbers = OutgoingNumbers(sequence: sequence, timestamp: entry.pointee.timestamp,
                                      pictureID: entry.pointee.pictureID, tl0PicIdx: entry.pointee.tl0PicIdx)
        let rtx = consumer.parameters.rtxSSRC != 0 && consumer.parameters.rtxPayloadType != 0
        guard let buffer = pool.acquire() else { local.drop(.poolExhausted); return }
        let out = pool.pointer(buffer)
        let transportSequence = transport.sendHistory.map { Int($0.nextSequence()) } ?? -1
        var length = consumer.write(packet, original, numbers, transportSequence: transportSequence, rtx: rtx, into: out)
        if rtx { consumer.rtxSequence &+= 1 }
        guard srtp.protectRTP(out, length: &length, capacity: PacketBufferPool.bufferSize) == .ok else {
            pool.release(buffer)
            return
        }
        if transportSequence >= 0 {
            transport.sendHistory?.record(sequence: UInt16(truncatingIfNeeded: transportSequence),
                                          sentMicroseconds: batchMicroseconds, size: length, isProbe: false)
        }
        transport.sentOctets &+= UInt64(length)
        transport.retransmitBudget -= length
        local.packetsRetransmitted &+= 1
        enqueueSend(buffer: buffer, length: length, to: destination)
    }

    /// Sends a PLI for one layer of the producer to its publisher, at most once per interval per layer,
    /// however many viewers ask.
    func requestKeyframe(_ producer: Producer, layer index: Int, now: Int64) {
        guard producer.parameters.kind == .video else { return }
        let layer = producer.layers[max(0, min(index, producer.layers.count - 1))]
        guard let publisher = producer.transport else {
            // A mirror: the worker that receives the publisher asks (and aggregates across workers).
            if producer.keyframeRequests.shouldRequest(layer: layer.index, nowMs: now) {
                tell(worker: producer.home, .requestKeyframe(producer.id, layer: layer.index))
            }
            return
        }
        guard let srtp = publisher.srtpOutbound, let destination = publisher.selected, layer.ssrc != 0,
              producer.keyframeRequests.shouldRequest(layer: layer.index, nowMs: now) else { return }
        guard let buffer = pool.acquire() else { local.drop(.poolExhausted); return }
        let out = pool.pointer(buffer)
        let length = RTCPPictureLossIndication.write(
            senderSSRC: publisher.rtcpSSRC, mediaSSRC: layer.ssrc,
            into: UnsafeMutableRawBufferPointer(start: out, count: PacketBufferPool.bufferSize - SRTPContext.maxTrailerLength))
        if sendRTCP(buffer, length: length, srtp: srtp, to: destination) { local.keyframeRequestsSent &+= 1 }
    }

    /// Our NACKs for packets lost on the way in, and transport-wide feedback, to every publisher.
    func sendPublisherFeedback(now: Int64) {
        for transport in transports.values where transport.isConnected && !transport.producers.isEmpty {
            guard let srtp = transport.srtpOutbound, let destination = transport.selected else { continue }
            for producer in transport.producers {
                for layer in producer.layers where layer.ssrc != 0 {
                    guard let nacks = layer.nacks else { continue }
                    // Too much lost to repair: a keyframe is cheaper than waiting.
                    if nacks.takeKeyframeRequest() { requestKeyframe(producer, layer: layer.index, now: now) }
                    let count = nacks.collect(nowMs: now, rttMs: Self.assumedRTTMs, into: nackScratch)
                    guard count > 0, let buffer = pool.acquire() else { continue }
                    let out = pool.pointer(buffer)
                    let length = RTCPGenericNACK.write(
                        senderSSRC: transport.rtcpSSRC, mediaSSRC: layer.ssrc,
                        lost: UnsafeBufferPointer(rebasing: nackScratch[0..<count]),
                        into: UnsafeMutableRawBufferPointer(start: out, count: PacketBufferPool.bufferSize - SRTPContext.maxTrailerLength))
                    if sendRTCP(buffer, length: length, srtp: srtp, to: destination) { local.nackedPacketsSent &+= UInt64(count) }
                }
            }
            if let feedback = transport.transportWideFeedback, let media = transport.producers.first?.ssrc {
                // Several packets when much arrived since the last one.
                for _ in 0..<4 {
                    guard let buffer = pool.acquire() else { break }
                    let out = pool.pointer(buffer)
                    let length = feedback.write(
                        senderSSRC: transport.rtcpSSRC, mediaSSRC: media,
                        into: UnsafeMutableRawBufferPointer(start: out, count: 1200))
                    guard sendRTCP(buffer, length: length, srtp: srtp, to: destination) else { break }
                }
            }
        }
    }

    /// Receiver reports to publishers once a second, one block per incoming stream: browsers' loss-based
    /// rate control needs them to ramp up.
    func sendReceiverReports() {
        for transport in transports.values where transport.isConnected && !transport.producers.isEmpty {
            guard let srtp = transport.srtpOutbound, let destination = transport.selected else { continue }
            for producer in transport.producers {
                for layer in producer.layers where layer.receivedPackets > 0 {
                    guard let buffer = pool.acquire() else { return }
                    let out = pool.pointer(buffer)
                    var block = RTCPReportBlock(
                        ssrc: layer.ssrc, fractionLost: 0, cumulativeLost: 0,
                        extendedHighestSequenceNumber: layer.extendedHighestSequence, jitter: 0,
                        lastSenderReport: 0, delaySinceLastSenderReport: 0)
                    let length = withUnsafePointer(to: &block) { blockPointer in
                        RTCPReceiverReport.write(
                            ssrc: transport.rtcpSSRC, reportBlocks: UnsafeBufferPointer(start: blockPointer, count: 1),
                            into: UnsafeMutableRawBufferPointer(start: out, count: PacketBufferPool.bufferSize - SRTPContext.maxTrailerLength))
                    }
                    sendRTCP(buffer, length: length, srtp: srtp, to: destination)
                }
            }
        }
    }

    // MARK: - Layers and probing

    /// Re-chooses every viewer's layers from its estimate, updates rates and the active speakers.
    func updateLayers(now: Int64, elapsedMs: Int64) {
        for producer in producers.values {
            for layer in producer.layers { layer.updateRates(nowMs: now) }
        }
        for (room, speakers) in speakerDetectors {
            if let change = speakers.detector.update(nowMs: now) {
                switch change {
                case .speaker(let key): speakers.current = ProducerID(key)
                case .silence: speakers.current = nil
                }
                emit(.activeSpeaker(room: room, producer: speakers.current))
            }
        }
        for transport in transports.values where transport.isConnected && !transport.consumers.isEmpty {
            if elapsedMs > 0 {
                transport.sendingBitrate = Int(clamping: transport.sentOctets * 8 * 1000 / UInt64(elapsedMs))
                transport.sentOctets = 0
                transport.mediaBitrate = Int(clamping: transport.mediaOctets * 8 * 1000 / UInt64(elapsedMs))
                transport.mediaOctets = 0
            }
            let speaker = speakerDetectors[transport.room]?.current.flatMap { producers[$0]?.transport }
            let budget = transport.estimator?.estimate ?? Int.max
            transport.wantedBitrate = LayerAllocator.allocate(transport.consumers, budget: budget, speaker: speaker, nowMs: now)
            transport.retransmitBudget = Self.retransmitBudget(mediaBitrate: transport.mediaBitrate,
                                                              estimate: transport.estimator?.estimate)
        }
    }

    /// Bytes a viewer may have resent in one layer-update period: half of the media we forward to it, and of its
    /// estimate when it has one (a viewer's feedback could inflate the estimate, not the media we send), but at
    /// least a few packets so a thin stream (audio-only, a low layer) still gets its losses repaired.
    static func retransmitBudget(mediaBitrate: Int, estimate: Int?) -> Int {
        let bitrate = min(mediaBitrate, estimate ?? .max)
        return max(minimumRetransmitBudget, bitrate / 8 * Int(layerUpdateIntervalMs) / 1000 / 2)
    }

    /// Four full-size packets per period.
    static let minimumRetransmitBudget = 4 * 1200

    /// Asks each viewer's estimator how much probe padding to send in the next slot (every tick, 50 ms).
    func scheduleProbes() -> Bool {
        var probing = false
        for transport in transports.values where transport.isConnected && transport.sendHistory != nil {
            guard let estimator = transport.estimator else { continue }
            transport.paddingDebt = estimator.probe(nowMicroseconds: MonotonicClock.microseconds(),
                                                    sendingBitrate: transport.sendingBitrate,
                                                    wantedBitrate: transport.wantedBitrate)
            probing = probing || transport.paddingDebt > 0
        }
        return probing
    }

    /// Sends part of a viewer's probe padding: small steps, so the probe is paced rather than one burst.
    func flushPadding(_ transport: WebRTCTransport, now: Int64) {
        guard transport.paddingDebt > 0, let history = transport.sendHistory,
              let srtp = transport.srtpOutbound, let destination = transport.selected,
              let consumer = transport.consumers.first(where: { $0.parameters.rtxSSRC != 0 && $0.isStarted }) else {
            transport.paddingDebt = 0
            return
        }
        var budget = min(transport.paddingDebt, Self.paddingStepBytes)
        while budget > 0, let buffer = pool.acquire() {
            let out = pool.pointer(buffer)
            let sequence = history.nextSequence()
            var wireSequence = sequence.bigEndian
            var length = withUnsafeBytes(of: &wireSequence) { transportSequence in
                RTXPacket.writePadding(
                    payloadType: consumer.parameters.rtxPayloadType, ssrc: consumer.parameters.rtxSSRC,
                    sequenceNumber: consumer.rtxSequence, timestamp: consumer.lastSentTimestamp,
                    paddingLength: RTXPacket.maxPaddingLength,
                    extensionID: consumer.parameters.extensions.transportWideCC, extensionData: transportSequence,
                    into: UnsafeMutableRawBufferPointer(start: out, count: PacketBufferPool.bufferSize - SRTPContext.maxTrailerLength))
            }
            guard length > 0, srtp.protectRTP(out, length: &length, capacity: PacketBufferPool.bufferSize) == .ok else {
                pool.release(buffer)
                break
            }
            consumer.rtxSequence &+= 1
            // Not counted in sentOctets: the probe tops up what media sends, measured without the padding.
            history.record(sequence: sequence, sentMicroseconds: batchMicroseconds, size: length, isProbe: true)
            local.paddingPacketsSent &+= 1
            enqueueSend(buffer: buffer, length: length, to: destination)
            budget -= length
            transport.paddingDebt -= length
        }
    }

    /// Padding bytes sent per step (each loop turn, ≤ 5 ms apart while probing).
    static let paddingStepBytes = 2_000

    func noteLayersChanged(_ consumer: Consumer) {
        consumer.layersChanged = false
        local.layerSwitches &+= 1
        emit(.consumerLayersChanged(consumer.id, spatial: consumer.currentSpatial, temporal: min(consumer.currentTemporal, 3)))
    }
}

/// A room's active-speaker detector and who it names now.
final class RoomSpeakers {
    let detector = ActiveSpeakerDetector()
    var current: ProducerID?
}
