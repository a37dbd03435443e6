final class RetransmissionBuffer { init(capacity: Int, maxPacketSize: Int) {}
  func store(_ p: UnsafeRawBufferPointer, sequence: UInt16, nowMs: Int64) {}
  func packet(sequence: UInt16, nowMs: Int64) -> UnsafeRawBufferPointer? { nil } }
final class NackGenerator { init() {}
  func received(sequence: UInt16, isKeyframe: Bool, isRecovered: Bool, nowMs: Int64) {}
  func collect(nowMs: Int64, rttMs: Int64, into: UnsafeMutableBufferPointer<UInt16>) -> Int { 0 } }
enum RTXPacket { static func unwrap(_ packet: UnsafeMutableRawPointer, length: Int, header: RTPHeader, mediaPayloadType: UInt8, mediaSSRC: UInt32) -> Int? { nil }
  static func writePadding(payloadType: UInt8, ssrc: UInt32, sequenceNumber: UInt16, timestamp: UInt32, paddingLength: Int, extensionID: UInt8, transportSequence: UInt16, into: UnsafeMutableRawBufferPointer) -> Int { 0 } }
struct RTPAudioLevel { var level: UInt8; var voice: Bool
  static func read(_ h: RTPHeader, _ b: UnsafeRawBufferPointer, id: UInt8) -> RTPAudioLevel? { nil } }
final class ActiveSpeakerDetector { func addSource(_ k: UInt64) {}; func removeSource(_ k: UInt64) {}
  func record(source: UInt64, level: UInt8, voice: Bool, nowMs: Int64) {}
  func update(nowMs: Int64) -> UInt64?? { nil } }
final class TransportWideFeedbackBuilder { func record(sequence: UInt16, arrivalMicroseconds: Int64) {}
  func write(senderSSRC: UInt32, mediaSSRC: UInt32, into: UnsafeMutableRawBufferPointer) -> Int { 0 } }
final class TransportWideSendHistory { func nextSequence() -> UInt16 { 0 }
  func record(sequence: UInt16, sentMicroseconds: Int64, size: Int, isProbe: Bool) {} }
final class SendSideBandwidthEstimator { var estimate = 0
  func onTransportFeedback(_ f: RTCPTransportWideFeedback, history: TransportWideSendHistory, nowMicroseconds: Int64) {}
  func onREMB(bitrate: Int, nowMicroseconds: Int64) {}
  func onReceiverReport(fractionLost: UInt8, nowMicroseconds: Int64) {}
  func probe(nowMicroseconds: Int64, sendingBitrate: Int, wantedBitrate: Int) -> Int { 0 } }
