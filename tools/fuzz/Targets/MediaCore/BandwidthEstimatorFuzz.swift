import Glibc
@testable import MediaCore

/// The send-side bandwidth estimator (`SendSideBandwidthEstimator` with its `TransportWideSendHistory`)
/// fed as a viewer's transport feeds it: packets sent, then transport-wide feedback parsed from the
/// input (the FCI, framed as in the `twcc` target), REMBs and receiver reports, with time passing.
/// The estimate must stay between its minimum and maximum, whatever the viewer reports.
///
/// A viewer can send feedback for as long as it stays connected, far more than one input holds: a
/// repeat operation replays the last three feedback reports up to 2^24 times, so what builds up over
/// hours of reports (counters, the unwrapped reference time) is reached within one input. Such an input
/// runs for seconds; `SABHA_FUZZ_MAX_REPEAT` lowers the bound for short runs (tools/fuzz.sh sets it).
enum BandwidthEstimatorFuzz {
    static let name = "bwe"
    static let maxRepeats: Int = getenv("SABHA_FUZZ_MAX_REPEAT").flatMap { Int(String(cString: $0)) } ?? 1 << 24

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var reader = FuzzReader(data)
        let estimator = SendSideBandwidthEstimator(initialBitrate: 1_000_000, minBitrate: 50_000, maxBitrate: 20_000_000)
        let history = TransportWideSendHistory(capacity: 1024, firstSequence: reader.u16())
        var now: Int64 = 1_000_000
        let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 + 1024, alignment: 8)
        defer { packet.deallocate() }
        var recent: [RTCPTransportWideFeedback] = []
        var steps = 0
        while !reader.isAtEnd, steps < 1024 {
            steps += 1
            let op = reader.u8()
            now += Int64(reader.u16()) * 10
            if op % 8 == 7 {
                let times = min((Int(reader.u16()) + 1) << 8, maxRepeats)
                for _ in 0..<times {
                    for feedback in recent { estimator.onTransportFeedback(feedback, history: history, nowMicroseconds: now) }
                }
                continue
            }
            switch op % 5 {
            case 0, 1:
                for _ in 0..<(1 + Int(op >> 4)) {
                    history.record(sequence: history.nextSequence(), sentMicroseconds: now, size: 200 + Int(op), isProbe: op & 0x08 != 0)
                }
            case 2:
                // Feedback: the header is ours, the FCI the input's.
                let fci = reader.chunk()
                let length = (4 + fci.count + 3) & ~3
                packet.initializeMemory(as: UInt8.self, repeating: 0)
                packet[0] = 0x80 | RTCPTransportWideFeedback.format
                packet[1] = RTCPPacketType.transportFeedback
                packet.put16(UInt16(length / 4 - 1), at: 2)
                if fci.count > 0 { UnsafeMutableRawBufferPointer(rebasing: packet[4..<(4 + fci.count)]).copyMemory(from: fci) }
                guard let view = RTCPHeaderView.parse(UnsafeRawBufferPointer(rebasing: packet[0..<length])),
                      let feedback = RTCPTransportWideFeedback.parse(view) else { continue }
                estimator.onTransportFeedback(feedback, history: history, nowMicroseconds: now)
                recent.append(feedback)
                if recent.count > 3 { recent.removeFirst() }
            case 3:
                estimator.onREMB(bitrate: Int(reader.u32()), nowMicroseconds: now)
                estimator.onReceiverReport(fractionLost: reader.u8(), nowMicroseconds: now)
            default:
                _ = estimator.probe(nowMicroseconds: now, sendingBitrate: Int(reader.u32()), wantedBitrate: Int(reader.u32()))
            }
            let estimate = estimator.estimate
            try check(estimate >= estimator.minBitrate && estimate <= estimator.maxBitrate, name, "estimate \(estimate) outside its bounds")
            if let acknowledged = estimator.acknowledgedBitrate { try check(acknowledged >= 0, name, "negative acknowledged bitrate") }
        }
    }
}
