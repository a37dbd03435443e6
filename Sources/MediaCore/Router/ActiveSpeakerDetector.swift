/// Picks a room's active speaker from the RFC 6464 audio levels (`RTPAudioLevel`) its audio
/// producers send, without decoding audio.
///
/// Per source, `record` adds each packet's energy to 100 ms buckets (a tenth of `windowMs`);
/// `update` averages the buckets of the last `windowMs` over time, so a source that sends nothing
/// (muted, or Opus DTX during silence) counts as silent instead of keeping its last level.
/// Levels are converted to linear energy (10^(−level/10)) so one loud talker outweighs a murmur
/// the way a listener hears it, and anything quieter than `speechLevelThreshold` (default
/// −60 dBov) — background noise, 127 = silence — counts as nothing.
///
/// Switching uses hysteresis so the video layout does not flap on every "mm-hm":
/// - with no speaker, the loudest source that spoke within the window becomes the speaker;
/// - a challenger takes over only when its loudness stays above `takeoverMargin` × the current
///   speaker's (default 2×, 3 dB) for `takeoverHoldMs` (default 300 ms) of `update` calls — with
///   a 1 s window a same-level takeover needs about 2/3 s to cross the margin, so a real handover
///   switches within about a second while short interjections never do;
/// - the current speaker stays until it has been silent for `silenceTimeoutMs` (1.5 s), then
///   the loudest other source takes over at once, or the room is reported silent.
///
/// Sources live in a table of `maxSources` slots fixed at init (linear scan; extra sources are
/// ignored). Owned by one worker thread: no locks, no allocation after init.
final class ActiveSpeakerDetector {
    /// What `update` reports when the speaker changes.
    enum SpeakerChange: Equatable, Sendable {
        case speaker(UInt64)
        /// Nobody is speaking any more (or the speaker left and nobody else speaks).
        case silence
    }

    private struct Source {
        var key: UInt64 = 0
        var inUse = false
        /// Last packet at or above the speech threshold; `Int64.min` if none.
        var lastSpeechMs: Int64 = .min
        /// Since when this source has beaten the current speaker by the margin; `Int64.min` if not.
        var dominantSinceMs: Int64 = .min
        /// Window loudness computed by the last `update`.
        var loudness: Double = 0
    }

    private struct Bucket {
        /// `nowMs / bucketMs` of the packets summed here; stale buckets are reset on reuse.
        var epoch: Int64 = .min
        var energySum: Double = 0
        var packets: Int32 = 0
    }

    static let bucketsPerWindow = 10

    let maxSources: Int
    let speechLevelThreshold: UInt8
    let windowMs: Int64
    let takeoverMargin: Double
    let takeoverHoldMs: Int64
    let silenceTimeoutMs: Int64
    /// Count only packets with the V bit set; off by default because not every sender runs a
    /// voice activity detector (the bit is then always 0).
    let requireVoiceActivity: Bool

    private let bucketMs: Int64
    private let sources: UnsafeMutablePointer<Source>
    private let buckets: UnsafeMutablePointer<Bucket>
    /// Energy of each level 0...127, 0 above the threshold.
    private let energyOfLevel: UnsafeMutablePointer<Double>

    private var currentSlot: Int? = nil
    /// The speaker was removed and `update` has not reported the consequence yet.
    private var speakerRemoved = false

    /// Times `update` reported a change.
    private(set) var changeCount = 0
    /// `record` calls for keys not in the table (unknown, or the table was full).
    private(set) var ignoredCount = 0

    init(maxSources: Int = 64, speechLevelThreshold: UInt8 = 60, windowMs: Int64 = 1000,
         takeoverMargin: Double = 2.0, takeoverHoldMs: Int64 = 300, silenceTimeoutMs: Int64 = 1500,
         requireVoiceActivity: Bool = false) {
        precondition(maxSources > 0 && windowMs >= Int64(Self.bucketsPerWindow) && takeoverMargin >= 1)
        self.maxSources = maxSources
        self.speechLevelThreshold = speechLevelThreshold
        self.windowMs = windowMs
        self.takeoverMargin = takeoverMargin
        self.takeoverHoldMs = takeoverHoldMs
        self.silenceTimeoutMs = silenceTimeoutMs
        self.requireVoiceActivity = requireVoiceActivity
        bucketMs = windowMs / Int64(Self.bucketsPerWindow)
        sources = UnsafeMutablePointer<Source>.allocate(capacity: maxSources)
        sources.initialize(repeating: Source(), count: maxSources)
        buckets = UnsafeMutablePointer<Bucket>.allocate(capacity: maxSources * Self.bucketsPerWindow)
        buckets.initialize(repeating: Bucket(), count: maxSources * Self.bucketsPerWindow)
        energyOfLevel = UnsafeMutablePointer<Double>.allocate(capacity: 128)
        // 10^(-level/10) by repeated multiplication: no libm needed.
        let stepDown = 0.794_328_234_724_281_5  // 10^(-0.1)
        var energy = 1.0
        for level in 0..<128 {
            energyOfLevel[level] = level <= Int(speechLevelThreshold) && level < 127 ? energy : 0
            energy *= stepDown
        }
    }

    deinit {
        sources.deallocate()
        buckets.deallocate()
        energyOfLevel.deallocate()
    }

    /// The speaker as of the last `update`.
    var currentSpeaker: UInt64? {
        guard let slot = currentSlot else { return nil }
        return sources[slot].key
    }

    /// Starts tracking an audio source (e.g. a producer id). False when the table is full.
    @discardableResult
    func addSource(_ key: UInt64) -> Bool {
        if slot(of: key) != nil { return true }
        for slot in 0..<maxSources where !sources[slot].inUse {
            sources[slot] = Source(key: key, inUse: true)
            (buckets + slot * Self.bucketsPerWindow).update(repeating: Bucket(), count: Self.bucketsPerWindow)
            return true
        }
        return false
    }

    /// Stops tracking a source. If it was the speaker, the next `update` reports who takes over
    /// (or `.silence`).
    func removeSource(_ key: UInt64) {
        guard let slot = slot(of: key) else { return }
        sources[slot].inUse = false
        if currentSlot == slot {
            currentSlot = nil
            speakerRemoved = true
        }
    }

    /// Records one audio packet's level (0 loud … 127 silent) and V bit. O(sources), no allocation.
    func record(source key: UInt64, level: UInt8, voice: Bool, nowMs: Int64) {
        guard let slot = slot(of: key) else {
            ignoredCount += 1
            return
        }
        let energy = requireVoiceActivity && !voice ? 0 : energyOfLevel[Int(level & 0x7F)]
        let epoch = Self.floorDivide(nowMs, bucketMs)
        let bucket = buckets + slot * Self.bucketsPerWindow + Self.bucketIndex(epoch)
        if bucket.pointee.epoch != epoch {
            bucket.pointee = Bucket(epoch: epoch, energySum: 0, packets: 0)
        }
        bucket.pointee.energySum += energy
        bucket.pointee.packets += 1
        if energy > 0 { sources[slot].lastSpeechMs = nowMs }
    }

    /// Re-evaluates the speaker; call every 100–300 ms. Returns the change, or nil if none.
    func update(nowMs: Int64) -> SpeakerChange? {
        let epochNow = Self.floorDivide(nowMs, bucketMs)
        for slot in 0..<maxSources where sources[slot].inUse {
            sources[slot].loudness = windowLoudness(slot: slot, epochNow: epochNow)
        }

        guard let current = currentSlot else {
            let removed = speakerRemoved
            speakerRemoved = false
            if let loudest = loudestSource(excluding: nil, minimumDominance: nil, nowMs: nowMs) {
                return switchTo(loudest)
            }
            if removed {
                changeCount += 1
                return .silence
            }
            return nil
        }

        if hasBeenSilent(current, nowMs: nowMs) {
            if let next = loudestSource(excluding: current, minimumDominance: nil, nowMs: nowMs) {
                return switchTo(next)
            }
            currentSlot = nil
            clearDominance()
            changeCount += 1
            return .silence
        }

        let bar = sources[current].loudness * takeoverMargin
        for slot in 0..<maxSources where sources[slot].inUse && slot != current {
            if sources[slot].loudness > bar && sources[slot].loudness > 0 {
                if sources[slot].dominantSinceMs == .min { sources[slot].dominantSinceMs = nowMs }
            } else {
                sources[slot].dominantSinceMs = .min
            }
        }
        if let challenger = loudestSource(excluding: current, minimumDominance: takeoverHoldMs, nowMs: nowMs) {
            return switchTo(challenger)
        }
        return nil
    }

    // MARK: - Private

    private func slot(of key: UInt64) -> Int? {
        for slot in 0..<maxSources where sources[slot].inUse && sources[slot].key == key { return slot }
        return nil
    }

    /// Time average of the per-bucket mean energy over the window; empty buckets count as 0.
    private func windowLoudness(slot: Int, epochNow: Int64) -> Double {
        let base = buckets + slot * Self.bucketsPerWindow
        var total = 0.0
        for i in 0..<Self.bucketsPerWindow {
            let bucket = base[i]
            guard bucket.packets > 0, bucket.epoch != .min else { continue }
            let age = epochNow &- bucket.epoch
            if age >= 0, age < Int64(Self.bucketsPerWindow) {
                total += bucket.energySum / Double(bucket.packets)
            }
        }
        return total / Double(Self.bucketsPerWindow)
    }

    /// The loudest source with loudness above 0, other than `excluding`; with
    /// `minimumDominance`, only among sources that have beaten the speaker for that long.
    private func loudestSource(excluding: Int?, minimumDominance: Int64?, nowMs: Int64) -> Int? {
        var best: Int? = nil
        var bestLoudness = 0.0
        for slot in 0..<maxSources where sources[slot].inUse && slot != excluding {
            let source = sources[slot]
            if hasBeenSilent(slot, nowMs: nowMs) { continue }
            if let hold = minimumDominance {
                guard source.dominantSinceMs != .min, nowMs - source.dominantSinceMs >= hold else { continue }
            }
            if source.loudness > bestLoudness {
                best = slot
                bestLoudness = source.loudness
            }
        }
        return best
    }

    /// No speech for `silenceTimeoutMs` (or ever).
    private func hasBeenSilent(_ slot: Int, nowMs: Int64) -> Bool {
        let last = sources[slot].lastSpeechMs
        return last == .min || nowMs &- last >= silenceTimeoutMs
    }

    private func switchTo(_ slot: Int) -> SpeakerChange {
        currentSlot = slot
        clearDominance()
        changeCount += 1
        return .speaker(sources[slot].key)
    }

    private func clearDominance() {
        for slot in 0..<maxSources { sources[slot].dominantSinceMs = .min }
    }

    @inline(__always)
    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    @inline(__always)
    private static func bucketIndex(_ epoch: Int64) -> Int {
        let n = Int64(bucketsPerWindow)
        return Int(((epoch % n) + n) % n)
    }
}
