/// Maps an incoming sequence space (RTP sequence numbers, VP8 PictureID, TL0PICIDX) onto the one a viewer
/// sees, so that the viewer's numbers stay continuous across layer switches and across numbers we drop on
/// purpose (temporal layers above the target): a hidden gap must never look like loss, or the viewer NACKs
/// and waits for packets that will never come.
///
/// `bits` is the width of the space (16 for RTP, 15 for PictureID, 8 for TL0PICIDX). Like mediasoup's
/// SeqManager, but keeping only the most recent drop for reordering: a packet older than the last dropped
/// one is mapped with the offset that held before that drop.
struct SequenceRewriter {
    let mask: UInt16
    private var half: UInt16 { (mask >> 1) &+ 1 }

    private(set) var started = false
    /// output = input − offset (mod 2^bits).
    private(set) var offset: UInt16 = 0
    /// Highest input and output numbers seen (in the wrapping order of the space).
    private(set) var highestInput: UInt16 = 0
    private(set) var highestOutput: UInt16 = 0
    /// The most recent dropped input and the offset before it, for packets that arrive late from before it.
    private var lastDropped: UInt16 = 0
    private var offsetBeforeDrop: UInt16 = 0
    private var hasDropped = false

    init(bits: Int) {
        mask = bits >= 16 ? 0xFFFF : UInt16((1 << bits) - 1)
    }

    /// True if `a` comes after `b` in the wrapping order.
    @inline(__always)
    func isNewer(_ a: UInt16, than b: UInt16) -> Bool {
        let delta = (a &- b) & mask
        return delta != 0 && delta < half
    }

    /// Starts (or restarts, on a layer switch) so that `input` maps to the number after the last one output,
    /// or to `initial` the first time.
    mutating func sync(input: UInt16, initial: UInt16) {
        let next = started ? (highestOutput &+ 1) & mask : initial & mask
        offset = (input &- next) & mask
        highestInput = input & mask
        highestOutput = (next &- 1) & mask
        started = true
        hasDropped = false
    }

    /// The output number for `input`, or nil when the packet is older than anything we can place
    /// (before the current sync point by more than half the space).
    @inline(__always)
    mutating func map(_ input: UInt16) -> UInt16 {
        let input = input & mask
        if isNewer(input, than: highestInput) {
            highestInput = input
            let output = (input &- offset) & mask
            highestOutput = output
            return output
        }
        if hasDropped && !isNewer(input, than: lastDropped) {
            return (input &- offsetBeforeDrop) & mask
        }
        return (input &- offset) & mask
    }

    /// Forgets `input` for good: later numbers move down by one so the viewer sees no gap.
    /// Dropping the same number twice, or a number already passed, changes nothing.
    @inline(__always)
    mutating func drop(_ input: UInt16) {
        let input = input & mask
        guard started, isNewer(input, than: highestInput) else { return }
        offsetBeforeDrop = offset
        lastDropped = input
        hasDropped = true
        highestInput = input
        offset = (offset &+ 1) & mask
    }
}
