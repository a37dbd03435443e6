@testable import MediaCore

/// `NackGenerator` fed with the sequence numbers of a stream as the input dictates (in order, gaps,
/// reordering, repairs, keyframes, jumps, wraps) and asked for NACKs as time passes. It must stay
/// within its fixed storage and never ask for a packet it already received.
enum NackGeneratorFuzz {
    static let name = "nack"

    static func run(_ data: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var reader = FuzzReader(data)
        let capacity = 1 + Int(reader.u8() % 64)
        let generator = NackGenerator(capacity: capacity, maxRetries: 1 + Int(reader.u8() % 12), maxJump: 64 + Int64(reader.u8()) * 64)
        let out = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: 32)
        defer { out.deallocate() }
        var sequence = reader.u16()
        var now: Int64 = 0
        var steps = 0
        while !reader.isAtEnd, steps < 4096 {
            steps += 1
            let op = reader.u8()
            now += Int64(op & 0x0F) * 5
            switch op >> 6 {
            case 0, 1:
                // Forward by a small step (1 = in order, more = a gap), or back (reordering).
                sequence = sequence &+ UInt16(reader.u8() % 40) &- 8
            case 2:
                sequence = reader.u16()
            default:
                let written = generator.collect(nowMs: now, rttMs: Int64(reader.u8()), into: out)
                try check(written >= 0 && written <= out.count, name, "collect wrote \(written) into \(out.count)")
                _ = generator.takeKeyframeRequest()
                continue
            }
            generator.received(sequence: sequence, isKeyframe: op & 0x10 != 0, isRecovered: op & 0x20 != 0, nowMs: now)
            try check(!generator.isMissing(sequence), name, "\(sequence) still missing after it arrived")
            try check(generator.missingCount <= capacity, name, "\(generator.missingCount) missing in storage for \(capacity)")
        }
    }
}
