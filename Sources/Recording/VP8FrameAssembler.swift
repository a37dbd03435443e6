import MediaCore

/// Joins in-order VP8 RTP packets (RFC 7741) into whole frames for a recording. A frame starts with S=1, PID=0 and
/// ends with the RTP marker bit; a loss inside or before a frame drops everything up to the next keyframe, since a
/// decoder cannot use an inter frame whose reference is missing (`needsKeyframe` says when to ask for one).
public struct VP8FrameAssembler {
    public struct Frame: Equatable {
        public var rtpTimestamp: UInt32
        public var keyframe: Bool
        public var bytes: [UInt8]
        /// From a keyframe's header (RFC 6386 §9.1); nil for inter frames.
        public var width: Int?
        public var height: Int?
    }

    private var current: [UInt8] = []
    private var currentTimestamp: UInt32 = 0
    private var inFrame = false
    private var currentIsKeyframe = false
    /// Set by a loss; cleared by the next keyframe.
    public private(set) var needsKeyframe = true
    /// Frames left out because of a loss: the one it hit, and those after it up to the next keyframe.
    public private(set) var framesDropped = 0

    public init() {}

    /// A loss reported by the reorder buffer: the frame it hit is gone, and so is every one up to the next keyframe.
    public mutating func lost() {
        if inFrame || !needsKeyframe { framesDropped += 1 }
        inFrame = false
        current.removeAll(keepingCapacity: true)
        needsKeyframe = true
    }

    /// The next packet in order; returns a frame when this packet completes one.
    public mutating func add(_ packet: [UInt8]) -> Frame? {
        packet.withUnsafeBytes { bytes -> Frame? in
            guard let header = RTPHeader.parse(bytes), header.payloadLength > 0 else { return nil }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[header.headerLength..<header.headerLength + header.payloadLength])
            guard let descriptor = VP8PayloadDescriptor.parse(payload), descriptor.descriptorLength < payload.count else { return nil }
            let data = payload[descriptor.descriptorLength...]
            if descriptor.startOfPartition && descriptor.partitionIndex == 0 {
                if inFrame { framesDropped += 1 }  // the previous frame never saw its marker: incomplete
                inFrame = true
                currentTimestamp = header.timestamp
                currentIsKeyframe = descriptor.isKeyframeStart
                current.removeAll(keepingCapacity: true)
            } else if !inFrame || header.timestamp != currentTimestamp {
                return nil  // the middle of a frame whose start was not seen
            }
            current.append(contentsOf: data)
            guard header.marker else { return nil }
            inFrame = false
            if needsKeyframe && !currentIsKeyframe {
                framesDropped += 1
                return nil
            }
            needsKeyframe = false
            var frame = Frame(rtpTimestamp: currentTimestamp, keyframe: currentIsKeyframe, bytes: current)
            if currentIsKeyframe, let size = Self.keyframeSize(current) { (frame.width, frame.height) = size }
            return frame
        }
    }

    /// Width and height of a VP8 keyframe: after the 3-byte frame tag, the start code 9d 01 2a, then two 14-bit
    /// little-endian sizes (the top 2 bits are the scaling).
    static func keyframeSize(_ frame: [UInt8]) -> (Int, Int)? {
        guard frame.count >= 10, frame[3] == 0x9D, frame[4] == 0x01, frame[5] == 0x2A else { return nil }
        let width = (Int(frame[6]) | Int(frame[7]) << 8) & 0x3FFF
        let height = (Int(frame[8]) | Int(frame[9]) << 8) & 0x3FFF
        return width > 0 && height > 0 ? (width, height) : nil
    }
}
