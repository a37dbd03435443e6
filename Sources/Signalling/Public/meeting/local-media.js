// Our own camera and microphone, and whether we muted them: the one owner of that state.

import { t } from '../lib/i18n.js';
import { acquireMedia } from '../lib/media.js';
import { log } from './log.js';

export class LocalMedia {
  /** `video`: the capture constraints; `viewer`: a viewer sends nothing and never asks for devices. */
  constructor({ video, viewer }) {
    this.video = video;
    this.viewer = viewer;
    /** Our MediaStream (camera and/or microphone), or null. */
    this.stream = null;
    this.micMuted = false;
    this.camMuted = false;
    /** The page is hidden (phones: another app, the screen locked): the camera sends nothing until it is shown. */
    this.camPaused = false;
  }

  get hasAudio() { return !!(this.stream && this.stream.getAudioTracks().length); }
  get hasVideo() { return !!(this.stream && this.stream.getVideoTracks().length); }
  /** Whether others hear us / see us (as far as this page decides it). */
  get audioOn() { return this.hasAudio && !this.micMuted; }
  get videoOn() { return this.hasVideo && !this.camMuted && !this.camPaused; }
  /** Whether the server should announce our camera as off: muted by us, or paused while the page is hidden. */
  get cameraOff() { return this.camMuted || this.camPaused; }

  /** Replaces the stream with the given devices ('' for the default). Rejects as getUserMedia does. */
  async acquire(cameraId = '', micId = '') {
    this.stop();
    if (this.viewer) return null;
    this.stream = await acquireMedia({ video: this.video, cameraId, micId, log });
    return this.stream;
  }

  /** The id of the device in use for 'audio' or 'video', or ''. */
  deviceId(kind) {
    const track = this.stream && this.stream.getTracks().find((t) => t.kind === kind);
    return track ? track.getSettings().deviceId : '';
  }

  /** Mutes or unmutes our 'audio' or 'video' tracks; false when we have none of that kind. */
  setMuted(kind, muted) {
    if (!this.stream) return false;
    const tracks = kind === 'audio' ? this.stream.getAudioTracks() : this.stream.getVideoTracks();
    if (!tracks.length) return false;
    if (kind === 'audio') this.micMuted = muted; else this.camMuted = muted;
    tracks.forEach((t) => { t.enabled = !muted && !(kind === 'video' && this.camPaused); });
    return true;
  }

  /** Pauses or resumes the camera while the page is hidden; false when there is no camera or nothing changed. */
  setPaused(paused) {
    if (!this.hasVideo || this.camPaused === paused) return false;
    this.camPaused = paused;
    this.stream.getVideoTracks().forEach((t) => { t.enabled = !paused && !this.camMuted; });
    return true;
  }

  stop() {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }
}

/** Why our devices could not be started, for the person; a page without them can still watch and listen. */
export function deviceProblemText(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError': return t('device.blocked');
    case 'NotFoundError':
    case 'OverconstrainedError': return `${t('device.notFound')} ${t('device.canWatch')}`;
    case 'NotReadableError': return t('device.inUse');
    default: return t('device.failed', { reason: (err && err.message) || err });
  }
}
