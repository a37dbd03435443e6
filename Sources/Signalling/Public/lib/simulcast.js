// The camera as VP8 simulcast, for the meeting page and the WHIP demo. Rids q/h/f, lowest first (the server
// answers a=simulcast:recv and forwards each viewer one layer, see docs/media.md); three temporal layers each.
// Chromium sends all three layers only for input of at least 960x540; smaller input gets fewer.

export const CAMERA_ENCODINGS = Object.freeze([
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000, scalabilityMode: 'L1T3' },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000, scalabilityMode: 'L1T3' },
  { rid: 'f', maxBitrate: 1500000, scalabilityMode: 'L1T3' },
]);

/**
 * Adds `track` as a sendonly simulcast transceiver; without scalabilityMode when the browser refuses it, and as
 * one encoding when it refuses simulcast altogether. `log` hears each refusal. Returns the transceiver, or null.
 */
export function addCameraTransceiver(pc, track, stream, log) {
  const attempts = [CAMERA_ENCODINGS, CAMERA_ENCODINGS.map(({ scalabilityMode, ...rest }) => rest), null];
  for (const sendEncodings of attempts) {
    try {
      const init = { direction: 'sendonly', streams: [stream] };
      if (sendEncodings) init.sendEncodings = sendEncodings.map((e) => ({ ...e }));
      return pc.addTransceiver(track, init);
    } catch (err) {
      log(`addTransceiver(${sendEncodings ? sendEncodings.length + ' encodings' : 'one encoding'}) failed: ${err.name}`);
    }
  }
  return null;
}
