/// Send-side bandwidth estimate for one viewer transport, in the spirit of GCC
/// (draft-ietf-rmcat-gcc-02, libwebrtc goog_cc): a delay-based estimate from transport-wide
/// feedback (packet groups → trendline overuse detector → AIMD), capped by a loss-based
/// estimate, with probing to climb back after congestion when media alone is too thin to show
/// the path has recovered. Viewers that did not negotiate transport-cc send REMB instead: the
/// estimate then follows REMB, still capped by the loss in their receiver reports.
///
/// One instance per viewer transport, driven by its worker thread; nothing here allocates after
/// init, takes locks or reads a clock (time comes in with every call).
final class SendSideBandwidthEstimator {
    let minBitrate: Int
    let maxBitrate: Int

    private var interArrival = InterArrival()
    private var trendline = TrendlineEstimator()
    private var rateControl: AIMDRateControl
    private var lossBased: LossBasedEstimator
    private var acknowledged = AcknowledgedBitrateEstimator()
    private var prober = ProbeController()
    /// The last REMB, when the viewer uses REMB instead of transport-wide feedback.
    private var remb: Double?
    private var usesTransportFeedback = false
    /// Reference time of the previous feedback in 64 ms units, to unwrap its 24 bits.
    private var lastReferenceTime: Int64?
    private var referenceOffset: Int64 = 0
    private var smoothedRTT: Int64?

    init(initialBitrate: Int = 1_000_000, minBitrate: Int = 50_000, maxBitrate: Int = 20_000_000) {
        self.minBitrate = minBitrate
        self.maxBitrate = max(maxBitrate, minBitrate)
        rateControl = AIMDRateControl(bitrate: initialBitrate, minBitrate: minBitrate, maxBitrate: self.maxBitrate)
        lossBased = LossBasedEstimator(maxBitrate: self.maxBitrate)
    }

    /// Target send rate in bits per second: what layer selection may spend on this viewer.
    var estimate: Int {
        let delayBased = usesTransportFeedback ? rateControl.bitrate : (remb ?? rateControl.bitrate)
        let value = min(delayBased, lossBased.cap)
        guard value.isFinite else { return minBitrate }
        return Int(min(max(value, Double(minBitrate)), Double(maxBitrate)))
    }

    /// The rate the viewer actually received over the last 500 ms, from feedback.
    var acknowledgedBitrate: Int? {
        acknowledged.bitrate.map { Int(min(max($0, 0), Double(Int32.max))) }
    }

    /// Processes one transport-wide feedback report against what was sent.
    func onTransportFeedback(_ feedback: RTCPTransportWideFeedback, history: TransportWideSendHistory, nowMicroseconds now: Int64) {
        usesTransportFeedback = true
        let offset = unwrapReference(Int64(feedback.referenceTime))
        var received = 0
        var lost = 0
        var sawOveruse = false
        var newestSend: Int64?
        feedback.forEachPacket { sequence, remoteArrival in
            let extended = history.unwrap(sequence)
            guard let sent = history.entry(extended) else { return }
            guard let remoteArrival else {
                lost += 1
                return
            }
            guard history.markAcknowledged(extended) else { return }
            received += 1
            let arrival = remoteArrival + offset
            newestSend = max(newestSend ?? .min, sent.sentMicroseconds)
            acknowledged.add(arrivalMicroseconds: arrival, size: sent.size)
            prober.onAcknowledged(sentMicroseconds: sent.sentMicroseconds, arrivalMicroseconds: arrival, size: sent.size)
            guard let deltas = interArrival.add(sendMicroseconds: sent.sentMicroseconds, arrivalMicroseconds: arrival) else { return }
            let usage = trendline.update(receiveDeltaMs: Double(deltas.arrival) / 1000, sendDeltaMs: Double(deltas.send) / 1000,
                                         arrivalMs: Double(deltas.at) / 1000)
            if usage == .overusing { sawOveruse = true }
        }
        if let newestSend, now >= newestSend { observeRTT(now - newestSend) }

        let ackedRate = acknowledged.bitrate
        if sawOveruse || trendline.state == .overusing {
            prober.onOveruse(nowMicroseconds: now)
            if rateControl.timeToReduceFurther(nowMicroseconds: now, acknowledged: ackedRate) {
                rateControl.update(.overusing, acknowledged: ackedRate, nowMicroseconds: now)
            }
        } else {
            rateControl.update(trendline.state, acknowledged: ackedRate, nowMicroseconds: now)
        }
        if received + lost > 0 {
            lossBased.add(received: received, lost: lost, currentEstimate: Double(estimate), nowMicroseconds: now)
        }
        applyProbeResult(nowMicroseconds: now)
    }

    /// A REMB from a viewer without transport-cc: the estimate follows it (within the loss cap).
    func onREMB(bitrate: Int, nowMicroseconds now: Int64) {
        remb = Double(min(max(bitrate, minBitrate), maxBitrate))
    }

    /// Loss from an RTCP receiver report (fraction lost in 1/256), for viewers whose only loss
    /// signal is RR. Ignored once transport-wide feedback is flowing: it measures loss itself.
    func onReceiverReport(fractionLost: UInt8, nowMicroseconds now: Int64) {
        guard !usesTransportFeedback else { return }
        lossBased.update(lossFraction: Double(fractionLost) / 256, currentEstimate: Double(estimate), nowMicroseconds: now)
    }

    /// Padding bytes the caller should send (marked `isProbe`) in the next 50 ms slot, given the
    /// rate it is sending now and the rate the viewer's preferred layers would need. Zero unless
    /// a probe cluster is running. Only with transport-wide feedback: REMB cannot confirm a probe.
    func probe(nowMicroseconds now: Int64, sendingBitrate: Int, wantedBitrate: Int) -> Int {
        guard usesTransportFeedback else { return 0 }
        applyProbeResult(nowMicroseconds: now)
        return prober.padding(nowMicroseconds: now, estimate: Double(estimate), maxBitrate: Double(maxBitrate),
                              sendingBitrate: Double(sendingBitrate), wantedBitrate: Double(wantedBitrate))
    }

    private func applyProbeResult(nowMicroseconds now: Int64) {
        guard let rate = prober.result(nowMicroseconds: now, estimate: Double(estimate)) else { return }
        if rate > rateControl.bitrate { rateControl.set(bitrate: rate, nowMicroseconds: now) }
        lossBased.raise(to: rate)
    }

    private func observeRTT(_ sample: Int64) {
        let smoothed = smoothedRTT.map { ($0 * 7 + sample) / 8 } ?? sample
        smoothedRTT = smoothed
        rateControl.rttMicroseconds = smoothed
        lossBased.rttMicroseconds = smoothed
    }

    /// Extends the 24-bit reference time across its wrap; returns what to add to the parser's
    /// arrival times (which sign-extend the 24 bits) to keep them monotonic.
    private func unwrapReference(_ reference: Int64) -> Int64 {
        if let last = lastReferenceTime {
            let delta = reference - last
            if delta < -(1 << 23) { referenceOffset += (1 << 24) * 64_000 } else if delta > (1 << 23) { referenceOffset -= (1 << 24) * 64_000 }
        }
        lastReferenceTime = reference
        return referenceOffset
    }
}
