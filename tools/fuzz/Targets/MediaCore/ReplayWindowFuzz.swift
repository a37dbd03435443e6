@testable import MediaCore

/// The SRTP (RFC 3711 section 3.3.2, 1024 packets, 48-bit index) and SRTCP (128 packets, 31-bit
/// index) replay lists, driven by sequence numbers and indices from the input. The property that
/// matters: an index accepted once is never accepted again while it is inside the window.
enum ReplayWindowFuzz {
    static let name = "replay"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var reader = FuzzReader(data)
        let rtcp = reader.u8() & 1 != 0
        if rtcp { try srtcp(&reader) } else { try srtp(&reader) }
    }

    private static func srtp(_ reader: inout FuzzReader) throws(FuzzFailure) {
        let mask = UnsafeMutablePointer<UInt64>.allocate(capacity: SRTPReplayWindow.words)
        mask.initialize(repeating: 0, count: SRTPReplayWindow.words)
        defer { mask.deallocate() }
        var highest: UInt64 = UInt64(reader.u16())
        var accepted = Set<UInt64>()
        var steps = 0
        while !reader.isAtEnd, steps < 4096 {
            steps += 1
            // Mostly small steps around the highest, sometimes an arbitrary number.
            let op = reader.u8()
            let sequence = op & 0x80 != 0 ? reader.u16() : UInt16(truncatingIfNeeded: highest) &+ UInt16(op & 0x3F) &- 16
            let (index, delta) = SRTPReplayWindow.estimate(highest: highest, sequence: sequence)
            try check(index & 0xFFFF == UInt64(sequence), name, "index \(index) does not end in sequence \(sequence)")
            let verdict = SRTPReplayWindow.check(delta: delta, highest: highest, mask: mask)
            if accepted.contains(index), highest >= index, highest - index < UInt64(SRTPReplayWindow.bits) {
                try check(verdict != .fresh, name, "index \(index) accepted twice (highest \(highest))")
            }
            guard verdict == .fresh else { continue }
            SRTPReplayWindow.add(delta: delta, highest: &highest, mask: mask)
            accepted.insert(index)
            let again = SRTPReplayWindow.estimate(highest: highest, sequence: sequence)
            try check(again.index == index && SRTPReplayWindow.check(delta: again.delta, highest: highest, mask: mask) == .seen,
                      name, "index \(index) not recorded (highest \(highest))")
        }
    }

    private static func srtcp(_ reader: inout FuzzReader) throws(FuzzFailure) {
        let mask = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
        mask.initialize(repeating: 0, count: 2)
        defer { mask.deallocate() }
        var start: UInt32 = 0
        var accepted = Set<UInt32>()
        var steps = 0
        var last: UInt32 = 0
        while !reader.isAtEnd, steps < 4096 {
            steps += 1
            let op = reader.u8()
            let index = op & 0x80 != 0 ? reader.u32() & SRTCPReplayWindow.maxIndex : (last &+ UInt32(op & 0x3F) &- 8) & SRTCPReplayWindow.maxIndex
            let status = SRTCPReplayWindow.check(index: index, start: start, mask: mask)
            if accepted.contains(index), index >= start {
                try check(status != .ok, name, "SRTCP index \(index) accepted twice (start \(start))")
            }
            guard status == .ok else { continue }
            SRTCPReplayWindow.add(index: index, start: &start, mask: mask)
            accepted.insert(index)
            last = index
            try check(SRTCPReplayWindow.check(index: index, start: start, mask: mask) != .ok, name, "SRTCP index \(index) not recorded")
        }
    }
}
