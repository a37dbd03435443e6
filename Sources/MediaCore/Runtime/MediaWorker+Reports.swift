/// RTCP we send on our own timers: to publishers our NACKs for what was lost on the way in, transport-wide
/// feedback and receiver reports (browsers' own rate control needs them); to viewers sender reports.
extension MediaWorker {
    /// Our NACKs for packets lost on the way in, and transport-wide feedback, to every publisher (each tick).
    func sendPublisherFeedback(now: Int64) {
        for transport in tables.transports.values where transport.isConnected && !transport.producers.isEmpty {
            guard PacketSender<IO>.canSend(on: transport) else { continue }
            for producer in transport.producers {
                for layer in producer.layers where layer.ssrc != 0 {
                    guard let nacks = layer.nacks else { continue }
                    // Too much lost to repair: a keyframe is cheaper than waiting.
                    if nacks.takeKeyframeRequest() { requestKeyframe(producer, layer: layer.index, now: now) }
                    let count = nacks.collect(nowMs: now, rttMs: WorkerTiming.assumedRTTMs, into: nackScratch)
                    guard count > 0 else { continue }
                    let sent = sender.sendRTCP(on: transport) { out in
                        RTCPGenericNACK.write(senderSSRC: transport.rtcpSSRC, mediaSSRC: layer.ssrc,
                                              lost: UnsafeBufferPointer(rebasing: nackScratch[0..<count]), into: out)
                    }
                    if sent { local.nackedPacketsSent &+= UInt64(count) }
                }
            }
            if let feedback = transport.transportWideFeedback, let media = transport.producers.first?.ssrc {
                // Several packets when much arrived since the last one.
                for _ in 0..<4 {
                    let sent = sender.sendRTCP(on: transport) { out in
                        feedback.write(senderSSRC: transport.rtcpSSRC, mediaSSRC: media,
                                       into: UnsafeMutableRawBufferPointer(rebasing: out[0..<min(out.count, 1200)]))
                    }
                    if !sent { break }
                }
            }
        }
    }

    /// Receiver reports to publishers once a second, one block per incoming stream: browsers' loss-based
    /// rate control needs them to ramp up.
    func sendReceiverReports() {
        for transport in tables.transports.values where transport.isConnected && !transport.producers.isEmpty {
            guard PacketSender<IO>.canSend(on: transport) else { continue }
            for producer in transport.producers {
                for layer in producer.layers where layer.receivedPackets > 0 {
                    var block = RTCPReportBlock(
                        ssrc: layer.ssrc, fractionLost: 0, cumulativeLost: 0,
                        extendedHighestSequenceNumber: layer.extendedHighestSequence, jitter: 0,
                        lastSenderReport: 0, delaySinceLastSenderReport: 0)
                    sender.sendRTCP(on: transport) { out in
                        withUnsafePointer(to: &block) { blockPointer in
                            RTCPReceiverReport.write(ssrc: transport.rtcpSSRC,
                                                     reportBlocks: UnsafeBufferPointer(start: blockPointer, count: 1), into: out)
                        }
                    }
                }
            }
        }
    }

    /// Once a second, an SR for every consumer that has sent media, as few compounds per viewer transport as fit
    /// (`Consumer.writeSenderReport`).
    func sendSenderReports(nowMicroseconds: Int64) {
        for transport in tables.transports.values where transport.isConnected && !transport.consumers.isEmpty {
            guard PacketSender<IO>.canSend(on: transport) else { continue }
            let consumers = transport.consumers
            var next = 0
            while next < consumers.count {
                let queued = sender.sendRTCP(on: transport) { out in
                    var length = 0
                    while next < consumers.count {
                        let written = consumers[next].writeSenderReport(
                            nowMicroseconds: nowMicroseconds, into: UnsafeMutableRawBufferPointer(rebasing: out[length...]))
                        if written == 0 && out.count - length < RTCPSenderReport.minimumLength { break }
                        length += written
                        next += 1
                    }
                    return length
                }
                if !queued && next < consumers.count { break }  // no buffer, or nothing more to say
            }
        }
    }
}
