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
    /// Reference time of the previous feedback (64 ms units, 24 bits), and where it lies on our clock (µs): each
    /// feedback moves it by the wrapped difference of reference times, so arrival times stay continuous across
    /// the 24-bit wrap and stay near our own clock whatever a viewer sends.
    private var lastReferenceTime: Int32?
    private var referenceOnOurClock: Int64 = 0
    /// Feedback whose reference time landed too far from our clock (a jump, or a hostile viewer).
    private(set) var referenceResets = 0
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

    /// Packets of one feedback report looked at: more than a full-size report of a real receiver carries (each
    /// received packet takes at least a byte), while a crafted report can name 65 535 in a few bytes.
    static let maxPacketsPerFeedback = 2048

    /// Processes one transport-wide feedback report against what was sent.
    func onTransportFeedback(_ feedback: RTCPTransportWideFeedback, history: TransportWideSendHistory, nowMicroseconds now: Int64) {
        process(referenceTime: feedback.referenceTime, history: history, nowMicroseconds: now) { visit in
            var count = 0
            feedback.forEachPacket { sequence, arrival in
                guard count < Self.maxPacketsPerFeedback else { return }
                count += 1
                visit(sequence, arrival)
            }
        }
    }

    /// The same straight from the wire (the worker's path: no arrays); false when the packet is malformed.
    @discardableResult
    func onTransportFeedback(_ packet: RTCPHeaderView, history: TransportWideSendHistory, nowMicroseconds now: Int64) -> Bool {
        guard let reference = RTCPTransportWideFeedback.referenceTime(in: packet) else { return false }
        var wellFormed = false
        process(referenceTime: reference, history: history, nowMicroseconds: now) { visit in
            wellFormed = RTCPTransportWideFeedback.forEachPacket(in: packet, limit: Self.maxPacketsPerFeedback, visit)
        }
        return wellFormed
    }

    private func process(referenceTime: Int32, history: TransportWideSendHistory, nowMicroseconds now: Int64,
                         _ walk: ((UInt16, Int64?) -> Void) -> Void) {
        usesTransportFeedback = true
        let offset = unwrapReference(referenceTime, nowMicroseconds: now)
        var received = 0
        var lost = 0
        var sawOveruse = false
        var newestSend: Int64?
        walk { sequence, remoteArrival in
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

    /// Places the 24-bit reference time on our clock; returns what to add to the parser's arrival times (which
    /// sign-extend the 24 bits). The first feedback is anchored at `now`; each next one moves by the difference
    /// of reference times taken modulo 2^24 (libwebrtc's base delta), so the wrap is just the next step. A
    /// receiver's clock runs with ours: a reference that lands more than `maxReferenceDriftMicroseconds` from
    /// our clock is a jump (or crafted, issue 13: reference times that cycle once overflowed an ever-growing
    /// offset), so the timeline is anchored at `now` again and the delay estimate starts over. Every value stays
    /// within minutes of `now`.
    private func unwrapReference(_ reference: Int32, nowMicroseconds now: Int64) -> Int64 {
        if let last = lastReferenceTime {
            // The difference as a signed 24-bit number of 64 ms units.
            let step = Int64(Int32(bitPattern: UInt32(bitPattern: reference &- last) << 8) >> 8)
            referenceOnOurClock += step * 64_000
            if abs(referenceOnOurClock - now) > Self.maxReferenceDriftMicroseconds {
                referenceResets += 1
                referenceOnOurClock = now
                interArrival = InterArrival()
            }
        } else {
            referenceOnOurClock = now
        }
        lastReferenceTime = reference
        return referenceOnOurClock - Int64(reference) * 64_000
    }

    /// How far a viewer's feedback timeline may stray from our clock before it is anchored again.
    static let maxReferenceDriftMicroseconds: Int64 = 60_000_000
}
