@testable import MediaCore

/// A compound RTCP packet (RFC 3550 section 6.1) and every typed decoder on each packet in it:
/// SR, RR, SDES, BYE, generic NACK, PLI, FIR, REMB and transport-wide feedback. Each packet that
/// parses and has a writer is written back and parsed again, and must read the same.
enum RTCPFuzz {
    static let name = "rtcp"
    /// Room for any packet written back (a compound packet is at most 64 KiB); one buffer for all inputs.
    nonisolated(unsafe) static let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 70_000, alignment: 8)

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        _ = RTCPCompound(data).isWellFormed
        for packet in RTCPCompound(data) {
            try check(packet.length >= 4 && packet.length % 4 == 0 && packet.body.count == packet.length - 4 - packet.paddingLength,
                      name, "header view lengths are inconsistent")
            try senderReport(packet, out)
            try receiverReport(packet, out)
            try sourceDescription(packet)
            try bye(packet, out)
            try nack(packet, out)
            try pli(packet, out)
            try fir(packet, out)
            try remb(packet, out)
            if let feedback = RTCPTransportWideFeedback.parse(packet) {
                try TransportWideFeedbackFuzz.writeBack(feedback, name: name)
            }
        }
    }

    private static func reparse(_ out: UnsafeMutableRawBufferPointer, _ length: Int) throws(FuzzFailure) -> RTCPHeaderView {
        try check(length > 0, name, "writer refused a packet that parsed")
        guard let view = RTCPHeaderView.parse(UnsafeRawBufferPointer(rebasing: out[0..<length])), view.length == length else {
            throw FuzzFailure(name, "written packet does not parse")
        }
        return view
    }

    private static func blocks(_ count: Int, _ block: (Int) -> RTCPReportBlock) -> [RTCPReportBlock] {
        (0..<count).map(block)
    }

    private static func senderReport(_ packet: RTCPHeaderView, _ out: UnsafeMutableRawBufferPointer) throws(FuzzFailure) {
        guard let sr = RTCPSenderReport.parse(packet) else { return }
        let reports = blocks(sr.reportCount, sr.reportBlock)
        let length = reports.withUnsafeBufferPointer {
            RTCPSenderReport.write(ssrc: sr.ssrc, ntpTimestamp: sr.ntpTimestamp, rtpTimestamp: sr.rtpTimestamp,
                                   packetCount: sr.packetCount, octetCount: sr.octetCount, reportBlocks: $0, into: out)
        }
        guard let again = RTCPSenderReport.parse(try reparse(out, length)) else { throw FuzzFailure(name, "SR written back does not parse") }
        try check(again.ssrc == sr.ssrc && again.ntpTimestamp == sr.ntpTimestamp && again.rtpTimestamp == sr.rtpTimestamp
                  && again.packetCount == sr.packetCount && again.octetCount == sr.octetCount
                  && blocks(again.reportCount, again.reportBlock) == reports, name, "SR changed on write-back")
    }

    private static func receiverReport(_ packet: RTCPHeaderView, _ out: UnsafeMutableRawBufferPointer) throws(FuzzFailure) {
        guard let rr = RTCPReceiverReport.parse(packet) else { return }
        let reports = blocks(rr.reportCount, rr.reportBlock)
        let length = reports.withUnsafeBufferPointer { RTCPReceiverReport.write(ssrc: rr.ssrc, reportBlocks: $0, into: out) }
        guard let again = RTCPReceiverReport.parse(try reparse(out, length)) else { throw FuzzFailure(name, "RR written back does not parse") }
        try check(again.ssrc == rr.ssrc && blocks(again.reportCount, again.reportBlock) == reports, name, "RR changed on write-back")
    }

    private static func sourceDescription(_ packet: RTCPHeaderView) throws(FuzzFailure) {
        guard let sdes = RTCPSourceDescription.parse(packet) else { return }
        var chunks = 0
        for chunk in sdes {
            chunks += 1
            if let offset = chunk.cnameOffset {
                try check(offset + chunk.cnameLength <= packet.length, name, "CNAME outside the packet")
                _ = chunk.cname
            }
        }
        try check(chunks == sdes.chunkCount, name, "SDES iterates \(chunks) of \(sdes.chunkCount) chunks")
    }

    private static func bye(_ packet: RTCPHeaderView, _ out: UnsafeMutableRawBufferPointer) throws(FuzzFailure) {
        guard let bye = RTCPBye.parse(packet) else { return }
        let ssrcs = (0..<bye.sourceCount).map(bye.ssrc)
        let reason = bye.reason
        let length = ssrcs.withUnsafeBufferPointer { RTCPBye.write(ssrcs: $0, reason: reason, into: out) }
        guard let again = RTCPBye.parse(try reparse(out, length)) else { throw FuzzFailure(name, "BYE written back does not parse") }
        try check((0..<again.sourceCount).map(again.ssrc) == ssrcs, name, "BYE SSRCs changed on write-back")
        // The reason goes through String: only text that was valid UTF-8 comes back byte for byte.
        if let reason, reason.utf8.count <= 255 { try check(again.reason == reason, name, "BYE reason changed on write-back") }
    }

    private static func nack(_ packet: RTCPHeaderView, _ out: UnsafeMutableRawBufferPointer) throws(FuzzFailure) {
        guard let nack = RTCPGenericNACK.parse(packet) else { return }
        let lost = Array(nack.lostSequenceNumbers)
        try check(lost.count <= nack.itemCount * 17, name, "NACK yields more than 17 numbers per item")
        guard !lost.isEmpty else { return }
        let length = lost.withUnsafeBufferPointer { RTCPGenericNACK.write(senderSSRC: nack.senderSSRC, mediaSSRC: nack.mediaSSRC, lost: $0, into: out) }
        guard let again = RTCPGenericNACK.parse(try reparse(out, length)) else { throw FuzzFailure(name, "NACK written back does not parse") }
        try check(again.senderSSRC == nack.senderSSRC && again.mediaSSRC == nack.mediaSSRC
                  && Set(again.lostSequenceNumbers) == Set(lost), name, "NACK lost set changed on write-back")
    }

    private static func pli(_ packet: RTCPHeaderView, _ out: UnsafeMutableRawBufferPointer) throws(FuzzFailure) {
        guard let pli = RTCPPictureLossIndication.parse(packet) else { return }
        let length = RTCPPictureLossIndication.write(senderSSRC: pli.senderSSRC, mediaSSRC: pli.mediaSSRC, into: out)
        try check(RTCPPictureLossIndication.parse(try reparse(out, length)) == pli, name, "PLI changed on write-back")
    }

    private static func fir(_ packet: RTCPHeaderView, _ out: UnsafeMutableRawBufferPointer) throws(FuzzFailure) {
        guard let fir = RTCPFullIntraRequest.parse(packet) else { return }
        for index in 0..<fir.entryCount {
            let entry = fir.entry(index)
            let length = RTCPFullIntraRequest.write(senderSSRC: fir.senderSSRC, targetSSRC: entry.ssrc,
                                                    sequenceNumber: entry.sequenceNumber, into: out)
            guard let again = RTCPFullIntraRequest.parse(try reparse(out, length)), again.entryCount == 1 else {
                throw FuzzFailure(name, "FIR written back does not parse")
            }
            try check(again.senderSSRC == fir.senderSSRC && again.entry(0) == entry, name, "FIR entry changed on write-back")
        }
    }

    private static func remb(_ packet: RTCPHeaderView, _ out: UnsafeMutableRawBufferPointer) throws(FuzzFailure) {
        guard let remb = RTCPReceiverEstimatedMaxBitrate.parse(packet) else { return }
        let ssrcs = (0..<remb.ssrcCount).map(remb.ssrc)
        let length = ssrcs.withUnsafeBufferPointer {
            RTCPReceiverEstimatedMaxBitrate.write(senderSSRC: remb.senderSSRC, bitrate: remb.bitrate, ssrcs: $0, into: out)
        }
        guard let again = RTCPReceiverEstimatedMaxBitrate.parse(try reparse(out, length)) else {
            throw FuzzFailure(name, "REMB written back does not parse")
        }
        try check(again.senderSSRC == remb.senderSSRC && (0..<again.ssrcCount).map(again.ssrc) == ssrcs, name, "REMB SSRCs changed on write-back")
        // mantissa << exponent is exact below saturation, so the bitrate comes back unchanged.
        if remb.bitrate != UInt64.max { try check(again.bitrate == remb.bitrate, name, "REMB bitrate \(remb.bitrate) came back as \(again.bitrate)") }
    }
}
