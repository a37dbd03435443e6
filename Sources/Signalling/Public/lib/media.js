// The camera and microphone: asking for them, and what to tell the person when that fails.

/** 1280x720: Chromium sends all three simulcast layers only for input of at least 960x540. */
export const CAMERA_VIDEO = Object.freeze({ width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 24 } });

/** For tests running many browsers on one machine (`quality=low`): too small for simulcast layers. */
export const SMALL_VIDEO = Object.freeze({ width: { ideal: 320 }, height: { ideal: 180 }, frameRate: { ideal: 15 } });

/**
 * Asks for camera and microphone (the given devices, else the defaults) and falls back to whichever one works;
 * a refused permission is not retried. Resolves with a MediaStream; rejects with the first error.
 */
export async function acquireMedia({ video = CAMERA_VIDEO, cameraId = '', micId = '', log }) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error('this browser cannot use a camera here (https or localhost is needed)'), { name: 'NotSupportedError' });
  }
  const audio = micId ? { deviceId: { exact: micId } } : true;
  const camera = cameraId ? { ...video, deviceId: { exact: cameraId } } : { ...video };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video: camera });
  } catch (err) {
    if (err.name === 'NotAllowedError' || err.name === 'SecurityError') throw err;
    log(`getUserMedia(audio+video) failed: ${err.name}; trying each alone`);
    for (const only of [{ audio }, { video: camera }]) {
      try { return await navigator.mediaDevices.getUserMedia(only); } catch (_) { /* try the next */ }
    }
    throw err;
  }
}

/** A sentence for the person about why getUserMedia failed. */
export function mediaErrorText(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError': return 'Camera or microphone blocked: allow them in the browser\'s site settings.';
    case 'NotFoundError':
    case 'OverconstrainedError': return 'No camera or microphone was found.';
    case 'NotReadableError': return 'The camera or microphone is in use by another program.';
    default: return `The camera and microphone could not be started (${(err && err.message) || err}).`;
  }
}
