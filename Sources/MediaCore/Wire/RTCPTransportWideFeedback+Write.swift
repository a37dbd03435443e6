/// Writing transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
/// section 3.1): what Sabha sends to publishers so their own estimators can see our arrival times.
/// Packets are written straight into the caller's buffer with no intermediate arrays, and only as
/// many packets as fit: the receive-side builder reports the rest in its next feedback.
extension RTCPTransportWideFeedback {
    /// Writes one feedback packet for up to `packetCount` packets starting at
    /// `baseSequenceNumber`. `delta(i)` gives packet i's receive delta in 250 µs units from the
    /// previous received packet (from the reference time for the first), or nil if it did not
    /// arrive; it is called in increasing order of i, twice per packet (once to size the packet,
    /// once to write it). Writing stops before the first packet that would overflow the buffer or
    /// whose delta does not fit in 16 signed bits; a report cut short never ends with a missing
    /// packet. Returns the length written (0 if not even one packet fits) and how many packets the
    /// report covers.
    static func write(
        senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, referenceTime: Int32, feedbackPacketCount: UInt8,
        packetCount: Int, into buffer: UnsafeMutableRawBufferPointer, delta: (Int) -> Int32?
    ) -> (length: Int, packetCount: Int) {
        let limit = min(packetCount, Int(UInt16.max))
        guard limit > 0, buffer.count >= 24 else { return (0, 0) }
        let count = fittingCount(limit: limit, capacity: buffer.count, delta: delta)
        guard count > 0 else { return (0, 0) }
        let offset = writeChunksAndDeltas(count: count, into: buffer, delta: delta)

        buffer.put32(senderSSRC, at: 4)
        buffer.put32(mediaSSRC, at: 8)
        buffer.put16(baseSequenceNumber, at: 12)
        buffer.put16(UInt16(count), at: 14)
        buffer.put24(UInt32(bitPattern: referenceTime) & 0xFF_FFFF, at: 16)
        buffer[19] = feedbackPacketCount
        // Pad to 32 bits the way libwebrtc does: zero bytes, the last one holding the padding
        // count, and the P bit set.
        let length = paddedSize(offset)
        let padding = length - offset
        for i in offset..<length { buffer[i] = 0 }
        if padding > 0 { buffer[length - 1] = UInt8(padding) }
        RTCPHeaderView.writeHeader(count: format, packetType: RTCPPacketType.transportFeedback, length: length, into: buffer)
        if padding > 0 { buffer[0] |= 0x20 }
        return (length, count)
    }

    /// Pass 1: how many packets fit in `capacity` bytes. After packet i the size is the fixed part, every chunk
    /// emitted so far plus one for the pending symbols, the delta bytes, padded to 32 bits. A report cut short
    /// does not end in lost packets: the sender would count them lost before they had a chance to arrive, so
    /// they are left for the next report.
    private static func fittingCount(limit: Int, capacity: Int, delta: (Int) -> Int32?) -> Int {
        var encoder = StatusChunkEncoder()
        var emitted = 0
        var deltaBytes = 0
        var fitting = 0
        var lastReceivedFit = 0
        for i in 0..<limit {
            let symbol: Status
            if let d = delta(i) {
                guard d >= Int32(Int16.min), d <= Int32(Int16.max) else { break }
                symbol = (0...255).contains(d) ? .smallDelta : .largeOrNegativeDelta
            } else {
                symbol = .notReceived
            }
            if !encoder.canAdd(symbol) {
                _ = encoder.emit()
                emitted += 1
            }
            encoder.add(symbol)
            deltaBytes += symbol == .smallDelta ? 1 : (symbol == .largeOrNegativeDelta ? 2 : 0)
            let size = paddedSize(20 + 2 * (emitted + 1) + deltaBytes)
            guard size <= capacity else { break }
            fitting = i + 1
            if symbol != .notReceived { lastReceivedFit = fitting }
        }
        return fitting == limit ? fitting : lastReceivedFit
    }

    /// Pass 2: the status chunks from offset 20, then the deltas; returns the offset after them.
    private static func writeChunksAndDeltas(count: Int, into buffer: UnsafeMutableRawBufferPointer,
                                             delta: (Int) -> Int32?) -> Int {
        var encoder = StatusChunkEncoder()
        var offset = 20
        for i in 0..<count {
            let symbol: Status
            if let d = delta(i) {
                symbol = (0...255).contains(d) ? .smallDelta : .largeOrNegativeDelta
            } else {
                symbol = .notReceived
            }
            if !encoder.canAdd(symbol) {
                buffer.put16(encoder.emit(), at: offset)
                offset += 2
            }
            encoder.add(symbol)
        }
        buffer.put16(encoder.emitLast(), at: offset)
        offset += 2
        for i in 0..<count {
            guard let d = delta(i) else { continue }
            if (0...255).contains(d) {
                buffer[offset] = UInt8(d)
                offset += 1
            } else {
                buffer.put16(UInt16(bitPattern: Int16(d)), at: offset)
                offset += 2
            }
        }
        return offset
    }

    /// Writes this (parsed or hand-built) feedback back out; returns the length, or 0 if it does
    /// not fit entirely. Deltas in 0...255 are always written as small deltas.
    func write(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var deltaIndex = 0
        var lastIndex = -1
        let result = RTCPTransportWideFeedback.write(
            senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequenceNumber: baseSequenceNumber, referenceTime: referenceTime,
            feedbackPacketCount: feedbackPacketCount, packetCount: statuses.count, into: buffer
        ) { i in
            if i <= lastIndex { deltaIndex = 0; for j in 0..<i where statuses[j] != .notReceived { deltaIndex += 1 } }
            lastIndex = i
            guard statuses[i] != .notReceived, deltaIndex < deltas.count else { return nil }
            defer { deltaIndex += 1 }
            return deltas[deltaIndex]
        }
        return result.packetCount == statuses.count ? result.length : 0
    }

    @inline(__always)
    private static func paddedSize(_ size: Int) -> Int { (size + 3) & ~3 }
}

/// Packs status symbols into packet chunks (section 3.1.3 and 3.1.4), choosing per chunk the
/// densest of a run length (any number of equal symbols), a one-bit vector (14 symbols, none
/// large) or a two-bit vector (7 symbols), as libwebrtc's encoder does. Holds at most 14 pending
/// symbols in one integer, so it never allocates.
private struct StatusChunkEncoder {
    /// Pending symbols, two bits each, the first in the lowest bits (only the first 14 kept).
    private var symbols: UInt32 = 0
    private var size = 0
    private var allSame = true
    private var hasLarge = false

    private static let maxOneBit = 14
    private static let maxTwoBit = 7
    private static let maxRunLength = 0x1FFF

    func canAdd(_ symbol: RTCPTransportWideFeedback.Status) -> Bool {
        if size < Self.maxTwoBit { return true }
        if size < Self.maxOneBit && !hasLarge && symbol != .largeOrNegativeDelta { return true }
        return allSame && symbol.rawValue == self.symbol(0) && size < Self.maxRunLength
    }

    mutating func add(_ symbol: RTCPTransportWideFeedback.Status) {
        if size < Self.maxOneBit { symbols |= UInt32(symbol.rawValue) << (2 * UInt32(size)) }
        if size > 0 && symbol.rawValue != self.symbol(0) { allSame = false }
        if symbol == .largeOrNegativeDelta { hasLarge = true }
        size += 1
    }

    /// The chunk for a full encoder; keeps any symbols a two-bit vector could not take.
    mutating func emit() -> UInt16 {
        if allSame {
            defer { clear() }
            return runLength()
        }
        if size == Self.maxOneBit {
            defer { clear() }
            return oneBit()
        }
        let chunk = twoBit(count: Self.maxTwoBit)
        let rest = size - Self.maxTwoBit
        let remaining = symbols >> (2 * UInt32(Self.maxTwoBit))
        clear()
        for i in 0..<rest {
            add(RTCPTransportWideFeedback.Status(rawValue: UInt8((remaining >> (2 * UInt32(i))) & 0x3)) ?? .notReceived)
        }
        return chunk
    }

    /// The chunk for whatever is pending at the end of a report (at least one symbol).
    mutating func emitLast() -> UInt16 {
        defer { clear() }
        if allSame { return runLength() }
        return size <= Self.maxTwoBit ? twoBit(count: size) : oneBit()
    }

    private func symbol(_ index: Int) -> UInt8 { UInt8((symbols >> (2 * UInt32(index))) & 0x3) }

    private func runLength() -> UInt16 { UInt16(symbol(0)) << 13 | UInt16(size) }

    private func oneBit() -> UInt16 {
        var chunk: UInt16 = 0x8000
        for i in 0..<min(size, Self.maxOneBit) where symbol(i) != 0 { chunk |= 1 << (13 - i) }
        return chunk
    }

    private func twoBit(count: Int) -> UInt16 {
        var chunk: UInt16 = 0xC000
        for i in 0..<count { chunk |= UInt16(symbol(i)) << (12 - 2 * i) }
        return chunk
    }

    private mutating func clear() {
        symbols = 0
        size = 0
        allSame = true
        hasLarge = false
    }
}
