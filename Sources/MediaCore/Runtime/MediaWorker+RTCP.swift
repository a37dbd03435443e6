/// RTCP from peers: viewers' NACKs are served by their consumers, their PLIs and FIRs aggregated into few
/// keyframe requests to the publisher, their TWCC and REMB fed to the transport's bandwidth estimate; publishers'
/// sender reports are kept for their viewers' own.
extension MediaWorker {
    func handleRTCP(_ data: UnsafeMutableRawPointer, length: Int, from source: TransportAddress, now: Int64) {
        guard let transport = tables.transportsByAddress[source] ?? relay(data, length: length, ssrcOffset: 4, from: source) else {
            local.drop(.unknownSource)
            return
        }
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
        for relay in producer.relays {
            let ssrc = relay.ssrc(layer: binding.layer)
            sender.sendRTCP(on: relay.transport) { out in
                RTCPSenderReport.write(ssrc: ssrc, ntpTimestamp: report.ntpTimestamp, rtpTimestamp: report.rtpTimestamp,
                                       packetCount: report.packetCount, octetCount: report.octetCount, into: out)
            }
        }
        if let tap = producer.tap {
            // On the stack: a report a second per stream is no reason to allocate.
            withUnsafeTemporaryAllocation(byteCount: MediaTap.senderReportLength, alignment: 8) { record in
                MediaTap.writeSenderReport(ntp: report.ntpTimestamp, rtp: report.rtpTimestamp, into: record)
                if tap.push(producer: producer.id, layer: binding.layer, bytes: UnsafeRawBufferPointer(record)) { _ = tap.publish() }
            }
        }
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
        guard let ssrc = mediaSSRC else { return }
        if let relayed = transport.relayedLayers[ssrc] {
            // Another node's viewers need a keyframe of a layer we relay to it.
            requestKeyframe(relayed.producer, layer: relayed.layer, now: now)
            return
        }
        guard let consumer = transport.consumersBySSRC[ssrc], !consumer.paused else { return }
        let layer = consumer.currentSpatial >= 0 ? consumer.currentSpatial : consumer.targetSpatial
        requestKeyframe(consumer.producer, layer: layer, now: now)
    }

    /// Generic NACK (served from the retransmission buffers, never passed to the publisher) and TWCC feedback.
    private func handleTransportFeedback(_ packet: RTCPHeaderView, on transport: WebRTCTransport, now: Int64) {
        switch packet.count {
        case RTCPGenericNACK.format:
            guard let nack = RTCPGenericNACK.parse(packet) else { return }
            if let relayed = transport.relayedLayers[nack.mediaSSRC] {
                resendOverRelay(nack, relayed, on: transport, now: now)
                return
            }
            // A paused consumer sends nothing, repairs included (the viewer shows no picture to repair).
            guard let consumer = transport.consumersBySSRC[nack.mediaSSRC], !consumer.paused else { return }
            for sequence in nack.lostSequenceNumbers {
                local.nackedPacketsReceived &+= 1
                if consumer.resend(sequence, nowMs: now, via: sender) { local.packetsRetransmitted &+= 1 }
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

    /// Another node lost packets of a layer we relay to it: resent from the layer's retransmission buffer as they
    /// were first relayed (same sequence numbers, the relay's SSRC), at most `relayResendLimit` per NACK.
    private func resendOverRelay(_ nack: RTCPGenericNACK, _ relayed: RelayedLayer, on relay: WebRTCTransport, now: Int64) {
        guard let buffer = relayed.producer.layers[relayed.layer].retransmissions else { return }
        var resent = 0
        for sequence in nack.lostSequenceNumbers {
            local.nackedPacketsReceived &+= 1
            guard resent < Self.relayResendLimit, let original = buffer.packet(sequence: sequence, nowMs: now),
                  let source = original.baseAddress else { continue }
            let ssrc = nack.mediaSSRC
            let length = sender.sendRTP(on: relay) { out, _ in
                out.copyMemory(from: source, byteCount: original.count)
                out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
                return original.count
            }
            if length > 0 {
                resent += 1
                relay.sentOctets &+= UInt64(length)
                local.packetsRetransmitted &+= 1
            }
        }
    }

    /// Packets one NACK over a relay may have resent (a burst lost between two nodes; a second's worth of video).
    static var relayResendLimit: Int { 128 }

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
        guard PacketSender<IO>.canSend(on: publisher), layer.ssrc != 0,
              producer.keyframeRequests.shouldRequest(layer: layer.index, nowMs: now) else { return }
        let sent = sender.sendRTCP(on: publisher) { out in
            RTCPPictureLossIndication.write(senderSSRC: publisher.rtcpSSRC, mediaSSRC: layer.ssrc, into: out)
        }
        if sent { local.keyframeRequestsSent &+= 1 }
    }
}
