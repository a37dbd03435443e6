/// Extends 16-bit transport-wide sequence numbers to 64 bits relative to the newest one seen, so
/// rings and windows can compare them without wrap-around arithmetic everywhere else.
struct SequenceUnwrapper {
    private var last: Int64?

    /// The extended value of `sequence`: the one within ±32768 of the previous result. Does not
    /// move backwards on reordered input, so an old packet cannot shift the reference.
    mutating func unwrap(_ sequence: UInt16) -> Int64 {
        guard let last else {
            self.last = Int64(sequence)
            return Int64(sequence)
        }
        let value = Self.extend(sequence, near: last)
        if value > last { self.last = value }
        return value
    }

    /// The extended value of `sequence` nearest `reference`, without updating any state.
    static func extend(_ sequence: UInt16, near reference: Int64) -> Int64 {
        let delta = Int64(Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: reference)))
        return reference + delta
    }
}
