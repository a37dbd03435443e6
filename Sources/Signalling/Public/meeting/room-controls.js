// The room's controls (docs/protocol.md, "Meeting controls"): whether the meeting is locked and whether everyone
// may share a screen, as the server says; for hosts, the buttons that change them and "Mute everyone". Anyone else
// only sees their effect (the Share screen button is disabled, with why, unless everyone may share).

import { t } from '../lib/i18n.js';

const $ = (id) => document.getElementById(id);

export class RoomControls {
  /** {locked, screenShareAllowed}, from `joined` and `room-controls` */
  state = { locked: false, screenShareAllowed: false };
  /** Whether the meeting is being recorded (from `joined` and `recording`). */
  recording = false;

  /** `session`: {me}; `send(msg)`: the socket's send; `onChange()`: the share rule or our role changed. */
  constructor({ session, send, onChange }) {
    Object.assign(this, { session, send, onChange });
  }

  wire() {
    $('lock-button').addEventListener('click', () => this.send({ type: 'lock', locked: !this.state.locked }));
    $('allow-share-button').addEventListener('click',
      () => this.send({ type: 'allow-screen-share', allowed: !this.state.screenShareAllowed }));
    $('record-button').addEventListener('click', () => this.send({ type: 'record', active: !this.recording }));
    $('mute-all-button').addEventListener('click', () => {
      if (window.confirm(t('host.confirmMuteAll'))) this.send({ type: 'mute-all' });
    });
  }

  get isHost() {
    const me = this.session.me;
    return !!me && me.role === 'host';
  }

  /** Whether we may share a screen now (hosts always). */
  get mayShare() {
    return this.isHost || this.state.screenShareAllowed;
  }

  set(controls) {
    if (!controls || typeof controls !== 'object') return;
    this.state = { locked: !!controls.locked, screenShareAllowed: !!controls.screenShareAllowed };
    this.render();
    this.onChange();
  }

  /** The meeting started or stopped being recorded: the indicator everyone sees, and the host's button. */
  setRecording(active) {
    this.recording = !!active;
    $('recording-indicator').hidden = !this.recording;
    this.render();
  }

  render() {
    $('host-controls').hidden = !this.isHost;
    const record = $('record-button');
    record.setAttribute('aria-pressed', String(this.recording));
    record.textContent = t(this.recording ? 'host.stopRecording' : 'host.startRecording');
    const lock = $('lock-button');
    lock.setAttribute('aria-pressed', String(this.state.locked));
    lock.textContent = t(this.state.locked ? 'host.locked' : 'host.lock');
    lock.title = t(this.state.locked ? 'host.unlockTitle' : 'host.lockTitle');
    const share = $('allow-share-button');
    share.setAttribute('aria-pressed', String(this.state.screenShareAllowed));
    share.title = t(this.state.screenShareAllowed ? 'host.disallowShareTitle' : 'host.allowShareTitle');
    document.getElementById('room-name').dataset.locked = String(this.state.locked);
  }
}
