/// Decides which packets of one incoming stream (one publisher SSRC) to NACK, after mediasoup's
/// `NackGenerator` and libwebrtc's `NackRequester`: gaps in the sequence numbers become missing
/// entries, each asked for at once and then again every round trip, up to `maxRetries` times.
///
/// Sequence numbers are unwrapped to 64 bits against the highest seen, so the 65535 → 0 wrap is
/// just the next number. Entries are kept in ascending order in fixed storage of `capacity`
/// (default 256): a packet that arrives late (reordered or repaired) is removed; when a burst
/// needs more room, entries older than the last keyframe go first (the decoder can start again
/// from the keyframe without them), then the oldest, and `takeKeyframeRequest()` turns true so
/// the caller sends a PLI instead of trying to repair a loss too large to NACK.
///
/// A jump of more than `maxJump` in either direction is not a gap to repair but a new stream
/// (publisher restart, SSRC reuse) or an outage too long for NACKs to help: the generator
/// forgets everything and starts again from that packet.
///
/// Owned by one worker thread: no locks, no allocation after init.
final class NackGenerator {
    /// One missing packet.
    private struct Entry {
        var sequence: Int64
        /// When it was last NACKed; `Int64.min` before the first NACK.
        var sentAtMs: Int64
        var retries: Int32
    }

    let capacity: Int
    let maxRetries: Int
    let maxJump: Int64
    /// Lower bound of the retry spacing, so a tiny RTT estimate cannot make us NACK in a loop.
    let minRetryIntervalMs: Int64
    /// Retry spacing used while the RTT is unknown (`rttMs <= 0`).
    let defaultRttMs: Int64

    private let entries: UnsafeMutablePointer<Entry>
    private var count = 0
    private var started = false
    /// Highest sequence number seen, unwrapped.
    private var highest: Int64 = 0
    /// Unwrapped sequence number of the newest keyframe's first packet, if any since the start.
    private var lastKeyframe: Int64 = .min
    private var keyframeRequested = false

    /// Entries dropped after `maxRetries` NACKs went unanswered.
    private(set) var givenUpCount = 0
    /// Missing packets that later arrived (late, or repaired through RTX).
    private(set) var recoveredCount = 0
    /// Entries dropped for lack of room, or never tracked because the gap exceeded `capacity`.
    private(set) var overflowCount = 0
    /// Times a jump beyond `maxJump` restarted tracking.
    private(set) var resyncCount = 0

    init(capacity: Int = 256, maxRetries: Int = 10, maxJump: Int64 = 1000,
         minRetryIntervalMs: Int64 = 20, defaultRttMs: Int64 = 100) {
        precondition(capacity > 0 && maxRetries > 0 && maxJump > 0 && maxJump < 32_768)
        self.capacity = capacity
        self.maxRetries = maxRetries
        self.maxJump = maxJump
        self.minRetryIntervalMs = minRetryIntervalMs
        self.defaultRttMs = defaultRttMs
        entries = UnsafeMutablePointer<Entry>.allocate(capacity: capacity)
    }

    deinit { entries.deallocate() }

    /// Missing packets currently tracked.
    var missingCount: Int { count }

    /// True when `sequence` is currently tracked as missing.
    func isMissing(_ sequence: UInt16) -> Bool {
        guard started else { return false }
        return index(of: unwrap(sequence)) != nil
    }

    /// Records an arriving packet of the stream.
    /// - Parameters:
    ///   - isKeyframe: the packet starts a keyframe (older losses stop mattering on overflow).
    ///   - isRecovered: the packet came through RTX; counted in `recoveredCount` if it was missing.
    func received(sequence: UInt16, isKeyframe: Bool, isRecovered: Bool, nowMs: Int64) {
        guard started else {
            start(at: Int64(sequence), isKeyframe: isKeyframe)
            return
        }
        let extended = unwrap(sequence)
        let distance = extended - highest
        if distance > maxJump || distance < -maxJump {
            resyncCount += 1
            start(at: extended, isKeyframe: isKeyframe)
            return
        }
        if isKeyframe, extended > lastKeyframe { lastKeyframe = extended }

        if distance <= 0 {
            // Late, repaired or duplicate.
            if let position = index(of: extended) {
                remove(at: position)
                recoveredCount += 1
            }
            return
        }

        var first = highest + 1
        highest = extended
        guard first < extended else { return }
        let gap = extended - first
        if gap > Int64(capacity) {
            // Not all of it can be tracked: keep the newest, ask for a keyframe for the rest.
            overflowCount += Int(gap) - capacity
            first = extended - Int64(capacity)
            keyframeRequested = true
        }
        let adding = Int(extended - first)
        if count + adding > capacity { makeRoom(for: count + adding - capacity) }
        for missing in first..<extended {
            entries[count] = Entry(sequence: missing, sentAtMs: .min, retries: 0)
            count += 1
        }
    }

    /// Writes the sequence numbers due for a NACK now into `out`, ascending (the order
    /// `RTCPGenericNACK.write` packs). New losses are due at once; a retry is due `max(rttMs,
    /// minRetryIntervalMs)` after the previous NACK (`defaultRttMs` when `rttMs <= 0`). An entry
    /// whose `maxRetries` NACKs all went unanswered is dropped and counted in `givenUpCount`.
    /// If `out` fills up, the rest stay due for the next call.
    /// - Returns: how many sequence numbers were written.
    func collect(nowMs: Int64, rttMs: Int64, into out: UnsafeMutableBufferPointer<UInt16>) -> Int {
        let interval = max(rttMs > 0 ? rttMs : defaultRttMs, minRetryIntervalMs)
        var written = 0
        var kept = 0
        for i in 0..<count {
            var entry = entries[i]
            let due = entry.sentAtMs == .min || nowMs - entry.sentAtMs >= interval
            if due {
                if entry.retries >= Int32(maxRetries) {
                    givenUpCount += 1
                    continue  // dropped
                }
                if written < out.count {
                    out[written] = UInt16(truncatingIfNeeded: entry.sequence)
                    written += 1
                    entry.retries += 1
                    entry.sentAtMs = nowMs
                }
            }
            entries[kept] = entry
            kept += 1
        }
        count = kept
        return written
    }

    /// True once after overflow lost track of missing packets: the caller should send a PLI.
    func takeKeyframeRequest() -> Bool {
        defer { keyframeRequested = false }
        return keyframeRequested
    }

    /// Forgets the stream; the next packet starts tracking again. Counters are kept.
    func reset() {
        started = false
        count = 0
        lastKeyframe = .min
        keyframeRequested = false
    }

    // MARK: - Private

    private func start(at sequence: Int64, isKeyframe: Bool) {
        started = true
        highest = sequence
        count = 0
        lastKeyframe = isKeyframe ? sequence : .min
    }

    /// The 64-bit number of `sequence` nearest to `highest`.
    @inline(__always)
    private func unwrap(_ sequence: UInt16) -> Int64 {
        let delta = Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: highest))
        return highest + Int64(delta)
    }

    /// Binary search in the ascending entries.
    private func index(of sequence: Int64) -> Int? {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            let value = entries[middle].sequence
            if value == sequence { return middle }
            if value < sequence { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    private func remove(at position: Int) {
        let tail = count - position - 1
        if tail > 0 { (entries + position).update(from: entries + position + 1, count: tail) }
        count -= 1
    }

    /// Frees at least `needed` slots. Entries older than the last keyframe go first, all of them
    /// (mediasoup's rule: the decoder restarts from the keyframe and does not need them). If that
    /// is not enough the oldest go too, and the caller is asked for a keyframe because packets
    /// the decoder needs are no longer being repaired.
    private func makeRoom(for needed: Int) {
        var drop = 0
        while drop < count && entries[drop].sequence < lastKeyframe { drop += 1 }
        if drop < needed {
            drop = min(needed, count)
            keyframeRequested = true
        }
        if drop < count { entries.update(from: entries + drop, count: count - drop) }
        count -= drop
        overflowCount += drop
    }
}
