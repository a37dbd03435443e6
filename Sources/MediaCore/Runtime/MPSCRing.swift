import Atomics

/// Bounded lock-free queue for many producers and one consumer (Vyukov's bounded MPMC algorithm, used
/// with a single consumer). Commands flow from control-plane tasks to a worker, events from workers to the
/// control plane. `push` fails instead of blocking when the ring is full.
final class MPSCRing<Element: Sendable>: @unchecked Sendable {
    // @unchecked: slots are handed between threads only through the per-slot sequence atomics
    // (acquire/release), which is the algorithm's whole point.
    private let capacity: Int
    private let mask: Int
    private let sequences: UnsafeMutablePointer<UnsafeAtomic<Int>>
    private let slots: UnsafeMutablePointer<Element?>
    private let enqueuePosition = ManagedAtomic<Int>(0)
    private let dequeuePosition = ManagedAtomic<Int>(0)

    /// `capacity` is rounded up to a power of two.
    init(capacity requested: Int) {
        var size = 2
        while size < requested { size <<= 1 }
        capacity = size
        mask = size - 1
        sequences = .allocate(capacity: size)
        slots = .allocate(capacity: size)
        for i in 0..<size {
            (sequences + i).initialize(to: UnsafeAtomic<Int>.create(i))
            (slots + i).initialize(to: nil)
        }
    }

    deinit {
        for i in 0..<capacity { sequences[i].destroy() }
        sequences.deinitialize(count: capacity)
        sequences.deallocate()
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Any thread. Returns false when full.
    func push(_ element: Element) -> Bool {
        var position = enqueuePosition.load(ordering: .relaxed)
        while true {
            let index = position & mask
            let sequence = sequences[index].load(ordering: .acquiring)
            let difference = sequence - position
            if difference == 0 {
                let (exchanged, original) = enqueuePosition.weakCompareExchange(
                    expected: position, desired: position + 1, ordering: .relaxed)
                if exchanged {
                    slots[index] = element
                    sequences[index].store(position + 1, ordering: .releasing)
                    return true
                }
                position = original
            } else if difference < 0 {
                return false
            } else {
                position = enqueuePosition.load(ordering: .relaxed)
            }
        }
    }

    /// The single consumer thread only.
    func pop() -> Element? {
        let position = dequeuePosition.load(ordering: .relaxed)
        let index = position & mask
        let sequence = sequences[index].load(ordering: .acquiring)
        guard sequence - (position + 1) == 0 else { return nil }
        dequeuePosition.store(position + 1, ordering: .relaxed)
        let element = slots[index].take()
        sequences[index].store(position + mask + 1, ordering: .releasing)
        return element
    }
}
