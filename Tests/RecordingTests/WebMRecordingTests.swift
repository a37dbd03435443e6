import CVPX
import Foundation
import Testing
@testable import Recording

/// RTP back into frames and frames into WebM, checked the way a department would play the file: ffprobe (Debian
/// ffmpeg) reads the streams, counts the frames, and ffmpeg decodes every one without an error.
@Suite struct WebMRecordingTests {
    @Test func ebmlSizesUseTheShortestFormAndAvoidTheReservedAllOnes() {
        func bytes(_ value: UInt64) -> [UInt8] {
            var buffer = EBMLBuffer()
            buffer.size(value)
            return buffer.bytes
        }
        #expect(bytes(0) == [0x80])
        #expect(bytes(126) == [0xFE])
        #expect(bytes(127) == [0x40, 0x7F], "0xFF would read as unknown")
        #expect(bytes(16_382) == [0x7F, 0xFE])
        #expect(bytes(16_383) == [0x20, 0x3F, 0xFF])
        var unknown = EBMLBuffer()
        unknown.unknownSize()
        #expect(unknown.bytes == [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test func theReorderBufferPutsPacketsBackInOrderAcrossTheWrap() {
        var buffer = RTPReorderBuffer(maximumWait: 100)
        for sequence: UInt16 in [0, 65_534, 65_535, 1, 1, 2] { buffer.insert([UInt8(truncatingIfNeeded: sequence)], sequence: sequence, now: 0) }
        #expect(buffer.drain(now: 99).isEmpty, "the first packets wait for earlier ones")
        #expect(buffer.drain(now: 100) == [0xFE, 0xFF, 0x00, 0x01, 0x02].map { .packet([$0], arrival: 0) })
        buffer.insert([9], sequence: 65_000, now: 100)  // long gone: dropped
        buffer.insert([3], sequence: 3, now: 100)
        #expect(buffer.drain(now: 100) == [.packet([0x03], arrival: 100)], "once started, what is in order goes out at once")
    }

    @Test func aMissingPacketIsWaitedForThenReportedLost() {
        var buffer = RTPReorderBuffer(maximumWait: 100)
        buffer.insert([10], sequence: 10, now: 0)
        #expect(buffer.drain(now: 100) == [.packet([10], arrival: 0)])
        buffer.insert([12], sequence: 12, now: 100)
        buffer.insert([13], sequence: 13, now: 110)
        #expect(buffer.drain(now: 150).isEmpty, "11 may still come back after a NACK")
        buffer.insert([11], sequence: 11, now: 160)
        #expect(buffer.drain(now: 160) == [.packet([11], arrival: 160), .packet([12], arrival: 100), .packet([13], arrival: 110)])
        buffer.insert([15], sequence: 15, now: 170)
        #expect(buffer.drain(now: 269).isEmpty)
        #expect(buffer.drain(now: 270) == [.lost(count: 1), .packet([15], arrival: 170)])
    }

    /// 90 frames (3 s) through RTP with reordering and one lost packet: the frames up to the next keyframe are left
    /// out (they would not decode), everything written decodes, and ffprobe reads a VP8 track of the right size.
    @Test func vp8FromReorderedRTPWithALossBecomesAWebMFFmpegDecodes() throws {
        let frames = TestMedia.vp8Frames(count: 90, keyframeEvery: 30)
        var packets = TestMedia.rtpPackets(frames)
        // Reorder neighbours, and lose one packet in the middle of frame 40 (an inter frame).
        for index in stride(from: 0, to: packets.count - 1, by: 7) { packets.swapAt(index, index + 1) }
        let frame40 = packets.filter { UInt32($0.bytes[4]) << 24 | UInt32($0.bytes[5]) << 16 | UInt32($0.bytes[6]) << 8 | UInt32($0.bytes[7]) == UInt32(1_000 + 40 * 3_000) }
        packets.removeAll { $0.sequence == frame40[0].sequence }

        var reorder = RTPReorderBuffer(maximumWait: 100)
        var assembler = VP8FrameAssembler()
        var assembled: [VP8FrameAssembler.Frame] = []
        var clock: Int64 = 0
        var outputs: [RTPReorderBuffer.Output] = []
        for packet in packets {
            clock += 11
            reorder.insert(packet.bytes, sequence: packet.sequence, now: clock)
            outputs += reorder.drain(now: clock)
        }
        outputs += reorder.drain(now: clock + 1_000)
        for output in outputs {
            switch output {
            case .packet(let bytes, _): if let frame = assembler.add(bytes) { assembled.append(frame) }
            case .lost: assembler.lost()
            }
        }
        // Frames 0-39 and 60-89: 40-59 wait for the keyframe at 60.
        #expect(assembled.count == 70, "\(assembled.count) frames")
        #expect(assembled[0].keyframe && assembled[0].width == 320 && assembled[0].height == 240)
        #expect(assembled[40].keyframe && assembled[40].rtpTimestamp == UInt32(1_000 + 60 * 3_000))
        #expect(assembler.framesDropped == 20)
        #expect(assembled.map(\.bytes) == Array(frames[0..<40].map(\.bytes) + frames[60..<90].map(\.bytes)), "byte for byte what the encoder made")

        // Each assembled frame decodes with libvpx.
        var decoder = vpx_codec_ctx_t()
        try #require(sabha_vp8_decoder_init(&decoder) == 0)
        defer { vpx_codec_destroy(&decoder) }
        for frame in assembled {
            var status: Int32 = 0
            let picture = frame.bytes.withUnsafeBufferPointer { sabha_vp8_decode(&decoder, $0.baseAddress, $0.count, &status) }
            #expect(status == 0 && picture?.pointee.d_w == 320)
        }

        let path = TestMedia.temporaryPath("video.webm")
        let writer = try WebMWriter(path: path, tracks: [WebMTrack(number: 1, codec: .vp8(width: 320, height: 240))])
        for frame in assembled {
            try writer.write(track: 1, timestamp: Int64(frame.rtpTimestamp - 1_000) / 90, keyframe: frame.keyframe, frame: frame.bytes)
        }
        try writer.finish()
        let probe = try #require(try TestMedia.probe(path), "ffprobe is missing: install Debian ffmpeg (tools/setup.sh)")
        let stream = try #require((probe["streams"] as? [[String: Any]])?.first)
        #expect(stream["codec_name"] as? String == "vp8")
        #expect(stream["width"] as? Int == 320 && stream["height"] as? Int == 240)
        #expect(stream["nb_read_frames"] as? String == "70")
        let duration = Double(((probe["format"] as? [String: Any])?["duration"] as? String) ?? "") ?? 0
        #expect(abs(duration - 2.97) < 0.1, "duration \(duration)")
        #expect(try TestMedia.decodeErrors(path) == "")
    }

    @Test func opusFramesBecomeAWebMWithTheToneDuration() throws {
        let frames = TestMedia.opusFrames(seconds: 2)
        let path = TestMedia.temporaryPath("audio.webm")
        let writer = try WebMWriter(path: path, tracks: [WebMTrack(number: 1, codec: .opus(channels: 2))])
        for (index, frame) in frames.enumerated() { try writer.write(track: 1, timestamp: Int64(index * 20), keyframe: true, frame: frame) }
        try writer.finish()
        let probe = try #require(try TestMedia.probe(path), "ffprobe is missing: install Debian ffmpeg (tools/setup.sh)")
        let stream = try #require((probe["streams"] as? [[String: Any]])?.first)
        #expect(stream["codec_name"] as? String == "opus" && stream["channels"] as? Int == 2 && stream["sample_rate"] as? String == "48000")
        #expect(stream["nb_read_frames"] as? String == "100")
        let duration = Double(((probe["format"] as? [String: Any])?["duration"] as? String) ?? "") ?? 0
        #expect(abs(duration - 2.0) < 0.1, "duration \(duration)")
        #expect(try TestMedia.decodeErrors(path) == "")
    }

    /// A writer that is never finished (the server crashed) leaves a file whose complete clusters play.
    @Test func anUnfinishedFileKeepsEveryCompleteCluster() throws {
        let frames = TestMedia.opusFrames(seconds: 12)
        let path = TestMedia.temporaryPath("crashed.webm")
        do {
            let writer = try WebMWriter(path: path, tracks: [WebMTrack(number: 1, codec: .opus(channels: 2))])
            for (index, frame) in frames.enumerated() { try writer.write(track: 1, timestamp: Int64(index * 20), keyframe: true, frame: frame) }
            // No finish(): the cluster from 10 s on is lost, the two before it are on disk.
        }
        let probe = try #require(try TestMedia.probe(path), "ffprobe is missing: install Debian ffmpeg (tools/setup.sh)")
        let stream = try #require((probe["streams"] as? [[String: Any]])?.first)
        #expect(stream["nb_read_frames"] as? String == "500", "10 s of 20 ms frames in two complete 5 s clusters")
    }

    @Test func diskAndArgumentProblemsAreErrorsNotCrashes() throws {
        #expect(throws: RecordingError.self) { try WebMWriter(path: "/nonexistent/dir/x.webm", tracks: [WebMTrack(number: 1, codec: .opus(channels: 2))]) }
        #expect(throws: RecordingError.self) { try WebMWriter(path: TestMedia.temporaryPath("none.webm"), tracks: []) }
        let path = TestMedia.temporaryPath("twice.webm")
        let writer = try WebMWriter(path: path, tracks: [WebMTrack(number: 1, codec: .opus(channels: 2))])
        #expect(throws: RecordingError.self) { try WebMWriter(path: path, tracks: [WebMTrack(number: 1, codec: .opus(channels: 2))]) }
        #expect(throws: RecordingError.self) { try writer.write(track: 2, timestamp: 0, keyframe: true, frame: [1]) }
        try writer.finish()
        #expect(throws: RecordingError.self) { try writer.write(track: 1, timestamp: 0, keyframe: true, frame: [1]) }
    }
}

/// A track recorder puts one track on the recording's timeline: a track that starts 500 ms into the recording starts
/// at 0.5 s in its file, so tracks recorded side by side line up.
@Suite struct TrackRecorderTests {
    @Test func videoFromRTPStartsAtItsFirstKeyframeOnTheRecordingsTimeline() throws {
        let frames = TestMedia.vp8Frames(count: 60, keyframeEvery: 30)
        let path = TestMedia.temporaryPath("track-video.webm")
        let recorder = TrackRecorder(path: path, kind: .video)
        #expect(recorder.needsKeyframe)
        var packets = TestMedia.rtpPackets(frames, firstSequence: 100)
        packets.removeFirst(2)  // joined mid-frame: frame 0's start is missing, so the file starts at frame 30
        for (index, packet) in packets.enumerated() {
            try recorder.receive(packet.bytes, now: 500 + Int64(index) * 2_000 / Int64(packets.count))
        }
        try #require(try recorder.finish(now: 2_600))
        #expect(recorder.framesWritten == 30 && !recorder.needsKeyframe)
        let probe = try #require(try TestMedia.probe(path), "ffprobe is missing: install Debian ffmpeg (tools/setup.sh)")
        let stream = try #require((probe["streams"] as? [[String: Any]])?.first)
        #expect(stream["nb_read_frames"] as? String == "30")
        // Frame 30 is complete when its last packet (the marker) arrives: that is its place on the timeline.
        let frame30End = try #require(packets.firstIndex { $0.bytes[1] & 0x80 != 0 && UInt32($0.bytes[4]) << 24 | UInt32($0.bytes[5]) << 16 | UInt32($0.bytes[6]) << 8 | UInt32($0.bytes[7]) == UInt32(1_000 + 30 * 3_000) })
        let expected = Double(500 + Int64(frame30End) * 2_000 / Int64(packets.count)) / 1_000
        let start = Double((stream["start_time"] as? String) ?? "") ?? -1
        #expect(abs(start - expected) < 0.002, "frame 30 arrived \(expected) s into the recording; the file starts at \(start)")
        #expect(try TestMedia.decodeErrors(path) == "")
    }

    @Test func audioFromRTPKeepsItsTimingThroughALoss() throws {
        let frames = TestMedia.opusFrames(seconds: 3)
        let path = TestMedia.temporaryPath("track-audio.webm")
        let recorder = TrackRecorder(path: path, kind: .audio)
        for (index, frame) in frames.enumerated() where index != 75 {  // one 20 ms frame lost
            let sequence = UInt16(truncatingIfNeeded: 65_500 + index), timestamp = UInt32(truncatingIfNeeded: 4_294_900_000 + index * 960)
            let header: [UInt8] = [0x80, 111, UInt8(sequence >> 8), UInt8(sequence & 0xFF),
                                   UInt8(timestamp >> 24), UInt8((timestamp >> 16) & 0xFF), UInt8((timestamp >> 8) & 0xFF), UInt8(timestamp & 0xFF),
                                   0, 0, 0, 1]
            try recorder.receive(header + frame, now: 1_000 + Int64(index) * 20)
        }
        try #require(try recorder.finish(now: 4_000))
        #expect(recorder.framesWritten == 149 && recorder.packetsLost == 1)
        let probe = try #require(try TestMedia.probe(path), "ffprobe is missing: install Debian ffmpeg (tools/setup.sh)")
        let stream = try #require((probe["streams"] as? [[String: Any]])?.first)
        #expect(stream["nb_read_frames"] as? String == "149")
        let start = Double((stream["start_time"] as? String) ?? "") ?? -1
        #expect(abs(start - 1.0) < 0.05, "start \(start)")
        let duration = Double(((probe["format"] as? [String: Any])?["duration"] as? String) ?? "") ?? 0
        #expect(abs(duration - start - 3.0) < 0.1, "the RTP clock, through the wrap of its 32 bits, not the packet count: \(duration)")
    }
}
