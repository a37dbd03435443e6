// The control bar: microphone, camera, screen share, low-data mode (data-mode.js), People, End for all, Leave;
// and the "Tap to turn on sound" button over the grid. Draws the buttons from
// the state their owners keep (LocalMedia, ScreenShare, the session) and turns clicks into their calls.

import { t } from '../lib/i18n.js';
import { announce } from './announcer.js';
import { setIcon } from './icons.js';
import { ScreenShare } from './screen-share.js';

const $ = (id) => document.getElementById(id);

// The words (keys in lang/*.js) and icons of the two mute buttons: [when on, when muted].
const MIC = { icons: ['mic', 'micOff'], texts: ['meeting.mute', 'meeting.unmute'], titles: ['meeting.muteTitle', 'meeting.unmuteTitle'] };
const CAMERA = { icons: ['cam', 'camOff'], texts: ['meeting.stopVideo', 'meeting.startVideo'], titles: ['meeting.cameraOffTitle', 'meeting.cameraOnTitle'] };

// A mute button: disabled without a track of its kind, pressed while muted, hidden for viewers.
function drawMuteButton(button, available, muted, hidden, { icons, texts, titles }) {
  const i = muted ? 1 : 0;
  button.disabled = !available;
  button.setAttribute('aria-pressed', String(muted));
  setIcon(button.querySelector('.icon'), icons[muted || !available ? 1 : 0]);
  button.querySelector('.text').textContent = t(texts[i]);
  button.title = t(titles[i]);
  button.hidden = hidden;
}

export class Controls {
  /**
   * `local`: LocalMedia; `screenShare`: ScreenShare; `session`: {me}; `send(msg)`: the socket's send;
   * `onSelfChanged()`: our own tile and list entry need redrawing; `onLayout()`: the stage changed size;
   * `onLeave()`: the person leaves; `mayShare()`: whether the room lets us share a screen (room-controls.js);
   * `onShareRefused(text)`: tell the person why not.
   */
  constructor({ local, screenShare, session, send, onSelfChanged, onLayout, onLeave, mayShare = () => true, onShareRefused = () => {} }) {
    Object.assign(this, { local, screenShare, session, send, onSelfChanged, onLayout, onLeave, mayShare, onShareRefused });
  }

  /** Wires the buttons; the People panel starts open on wide screens. */
  wire() {
    $('leave-button').addEventListener('click', () => this.onLeave());
    $('end-button').addEventListener('click', () => {
      if (window.confirm(t('meeting.confirmEnd'))) this.send({ type: 'end-meeting' });
    });
    $('mic-button').addEventListener('click', () => this.setMuted('audio', !this.local.micMuted));
    $('camera-button').addEventListener('click', () => this.setMuted('video', !this.local.camMuted));
    $('people-button').addEventListener('click', () => this.togglePeople($('people').hidden));
    $('share-button').addEventListener('click', () => {
      if (!this.screenShare.active && !this.mayShare()) {
        this.onShareRefused(t('meeting.shareNotAllowed'));
        return;
      }
      this.screenShare.toggle();
    });
    $('sound-button').addEventListener('click', () => this.startSound());
    document.querySelectorAll('#meeting [data-icon]').forEach((el) => setIcon(el, el.dataset.icon));
    this.togglePeople(window.innerWidth >= 1000);
  }

  /** Mutes or unmutes our microphone ('audio') or camera ('video') and tells the server. */
  setMuted(kind, muted) {
    if (!this.local.setMuted(kind, muted)) return;
    this.send({ type: 'mute', kind, muted });
    this.update();
    this.onSelfChanged();
  }

  /** Autoplay refused to play sound (phones, strict browsers): offer the button that starts it with a tap. */
  offerSound() {
    if ($('sound-button').hidden) announce(t('meeting.soundBlocked', { button: t('meeting.soundButton') }));
    $('sound-button').hidden = false;
  }

  /** The tap: plays every participant's sound; the button stays while the browser still refuses. */
  startSound() {
    const plays = [...document.querySelectorAll('#grid audio')].filter((a) => a.srcObject).map((a) => a.play());
    $('sound-button').hidden = true;
    Promise.all(plays).catch(() => this.offerSound());
  }

  update() {
    const { local } = this;
    drawMuteButton($('mic-button'), local.hasAudio, local.micMuted, local.viewer, MIC);
    drawMuteButton($('camera-button'), local.hasVideo, local.camMuted, local.viewer, CAMERA);
    const share = $('share-button');
    share.hidden = local.viewer || !ScreenShare.supported;
    share.setAttribute('aria-pressed', String(this.screenShare.active));
    share.querySelector('.text').textContent = t(this.screenShare.active ? 'meeting.stopSharing' : 'meeting.shareScreen');
    // Not allowed: still focusable (aria-disabled, not disabled), so keyboard and screen reader users hear why.
    const refused = !this.screenShare.active && !this.mayShare();
    share.setAttribute('aria-disabled', String(refused));
    share.title = t(refused ? 'meeting.shareNotAllowed' : (this.screenShare.active ? 'meeting.stopShareTitle' : 'meeting.shareTitle'));
    $('end-button').hidden = !(this.session.me && this.session.me.role === 'host');
    setIcon($('people-button').querySelector('.icon'), 'people');
    setIcon(share.querySelector('.icon'), 'screen');
  }

  togglePeople(open) {
    $('people').hidden = !open;
    $('people-button').setAttribute('aria-pressed', String(open));
    this.onLayout();
  }
}
