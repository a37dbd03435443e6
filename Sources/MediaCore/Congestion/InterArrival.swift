/// Groups packets into send-time bursts and yields the delay variation between consecutive
/// groups (draft-ietf-rmcat-gcc-02 section 5.2; libwebrtc's InterArrivalDelta). A video frame
/// leaves as a burst, so comparing whole groups filters the pacing jitter inside a frame.
struct InterArrival {
    struct Group {
        var firstSend: Int64
        var lastSend: Int64
        var firstArrival: Int64
        var lastArrival: Int64
    }

    /// Packets sent within 5 ms of a group's first packet belong to it (libwebrtc kBurstDeltaThreshold).
    static let burstMicroseconds: Int64 = 5_000
    /// Packets that arrive back to back (under 5 ms apart, faster than sent) join the group, up to 100 ms.
    static let maxBurstDurationMicroseconds: Int64 = 100_000
    /// A jump this large between arrival and send deltas means a clock or path change: start over.
    static let resetThresholdMicroseconds: Int64 = 3_000_000

    private var current: Group?
    private var previous: Group?

    /// Adds one received packet (in sequence order); returns the send and arrival deltas in
    /// microseconds between the previous two complete groups when this packet closes a group.
    mutating func add(sendMicroseconds send: Int64, arrivalMicroseconds arrival: Int64) -> (send: Int64, arrival: Int64, at: Int64)? {
        guard var group = current else {
            current = Group(firstSend: send, lastSend: send, firstArrival: arrival, lastArrival: arrival)
            return nil
        }
        if send < group.firstSend { return nil }  // reordered from an older group
        if belongs(send: send, arrival: arrival, to: group) {
            group.lastSend = max(group.lastSend, send)
            group.lastArrival = max(group.lastArrival, arrival)
            current = group
            return nil
        }
        var result: (send: Int64, arrival: Int64, at: Int64)?
        if let previous {
            let sendDelta = group.lastSend - previous.lastSend
            let arrivalDelta = group.lastArrival - previous.lastArrival
            if abs(arrivalDelta - sendDelta) > Self.resetThresholdMicroseconds || arrivalDelta < -Self.resetThresholdMicroseconds {
                self.previous = nil
                current = Group(firstSend: send, lastSend: send, firstArrival: arrival, lastArrival: arrival)
                return nil
            }
            result = (sendDelta, arrivalDelta, group.lastArrival)
        }
        previous = group
        current = Group(firstSend: send, lastSend: send, firstArrival: arrival, lastArrival: arrival)
        return result
    }

    private func belongs(send: Int64, arrival: Int64, to group: Group) -> Bool {
        if send - group.firstSend <= Self.burstMicroseconds { return true }
        let arrivalDelta = arrival - group.lastArrival
        let propagation = arrivalDelta - (send - group.lastSend)
        return propagation < 0 && arrivalDelta <= Self.burstMicroseconds
            && arrival - group.firstArrival < Self.maxBurstDurationMicroseconds
    }
}
