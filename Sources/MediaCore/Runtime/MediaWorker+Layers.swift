/// Choosing each viewer's layers from its bandwidth estimate, and probing for bandwidth with padding when the
/// layers it should get need more than the estimate (see docs/media.md).
extension MediaWorker {
    /// Re-chooses every viewer's layers from its estimate, updates rates, budgets and the active speakers.
    func updateLayers(now: Int64, elapsedMs: Int64) {
        for producer in tables.producers.values {
            for layer in producer.layers { layer.updateRates(nowMs: now) }
        }
        for (room, speakers) in tables.speakerDetectors {
            if let change = speakers.detector.update(nowMs: now) {
                switch change {
                case .speaker(let key): speakers.current = ProducerID(key)
                case .silence: speakers.current = nil
                }
                emit(.activeSpeaker(room: room, producer: speakers.current))
            }
        }
        for transport in tables.transports.values where transport.isConnected && !transport.consumers.isEmpty {
            if elapsedMs > 0 {
                transport.sendingBitrate = Int(clamping: transport.sentOctets * 8 * 1000 / UInt64(elapsedMs))
                transport.sentOctets = 0
                transport.mediaBitrate = Int(clamping: transport.mediaOctets * 8 * 1000 / UInt64(elapsedMs))
                transport.mediaOctets = 0
            }
            let speaker = tables.speakerDetectors[transport.room]?.current.flatMap { tables.producers[$0]?.transport }
            let budget = transport.estimator?.estimate ?? Int.max
            transport.wantedBitrate = LayerAllocator.allocate(transport.consumers, budget: budget, speaker: speaker, nowMs: now)
            transport.retransmitBudget = WebRTCTransport.retransmitBudget(mediaBitrate: transport.mediaBitrate,
                                                                          estimate: transport.estimator?.estimate)
        }
    }

    /// Asks each viewer's estimator how much probe padding to send in the next slot (every tick, 50 ms).
    func scheduleProbes() -> Bool {
        var probing = false
        for transport in tables.transports.values where transport.isConnected && transport.sendHistory != nil {
            guard let estimator = transport.estimator else { continue }
            transport.paddingDebt = estimator.probe(nowMicroseconds: clock.microseconds(),
                                                    sendingBitrate: transport.sendingBitrate,
                                                    wantedBitrate: transport.wantedBitrate)
            probing = probing || transport.paddingDebt > 0
        }
        return probing
    }

    /// Sends the next step of every viewer's probe padding.
    func pacePadding() {
        var pending = false
        let now = clock.milliseconds()
        batchMicroseconds = now * 1000
        for transport in tables.transports.values where transport.paddingDebt > 0 {
            flushPadding(transport, now: now)
            pending = pending || transport.paddingDebt > 0
        }
        sender.flush()
        probing = pending
    }

    /// Sends part of a viewer's probe padding: small steps, so the probe is paced rather than one burst.
    func flushPadding(_ transport: WebRTCTransport, now: Int64) {
        guard transport.paddingDebt > 0, transport.sendHistory != nil, PacketSender<IO>.canSend(on: transport),
              let consumer = transport.consumers.first(where: { $0.parameters.rtxSSRC != 0 && $0.isStarted && !$0.paused }) else {
            transport.paddingDebt = 0
            return
        }
        var budget = min(transport.paddingDebt, WebRTCTransport.paddingStepBytes)
        while budget > 0 {
            let length = sender.sendRTP(on: transport, isProbe: true) { out, transportSequence in
                var wireSequence = UInt16(truncatingIfNeeded: transportSequence).bigEndian
                return withUnsafeBytes(of: &wireSequence) { sequence in
                    RTXPacket.writePadding(
                        payloadType: consumer.parameters.rtxPayloadType, ssrc: consumer.parameters.rtxSSRC,
                        sequenceNumber: consumer.rtxSequence, timestamp: consumer.lastSentTimestamp,
                        paddingLength: RTXPacket.maxPaddingLength,
                        extensionID: consumer.parameters.extensions.transportWideCC, extensionData: sequence,
                        into: UnsafeMutableRawBufferPointer(start: out, count: PacketBufferPool.bufferSize - SRTPContext.maxTrailerLength))
                }
            }
            guard length > 0 else { break }
            consumer.rtxSequence &+= 1
            // Not counted in sentOctets: the probe tops up what media sends, measured without the padding.
            local.paddingPacketsSent &+= 1
            budget -= length
            transport.paddingDebt -= length
        }
    }

    func noteLayersChanged(_ consumer: Consumer) {
        consumer.layersChanged = false
        local.layerSwitches &+= 1
        emit(.consumerLayersChanged(consumer.id, spatial: consumer.currentSpatial, temporal: min(consumer.currentTemporal, 3)))
    }
}
