// The grid of video tiles: one per participant who can send (viewers get none), one for ourselves, and one more
// for a participant's screen share. The one owner of the tiles and of which received track each one shows.

import { icon } from './icons.js';
import { log } from './log.js';
import { initials } from './names.js';

export class Grid {
  #tiles = new Map();   // participant id -> {ui, video, audio, screen, screenUi}: the tracks shown and their tile
  #self = null;

  /** `element`: the grid; `sizes`: a VideoSizeReporter; `onAudioBlocked()`: autoplay refused to play sound. */
  constructor({ element, sizes, onAudioBlocked }) {
    Object.assign(this, { element, sizes, onAudioBlocked });
  }

  /** Adds a participant's tile; `shown` false keeps it out of the grid (viewers). */
  add(id, { shown }) {
    if (!this.#tiles.has(id)) this.#tiles.set(id, { ui: this.#makeTile(id, { shown }), video: null, audio: null, screen: null, screenUi: null });
  }

  remove(id) {
    const t = this.#tiles.get(id);
    if (!t) return;
    this.#tiles.delete(id);
    this.sizes.unobserve(t.ui.video);
    t.ui.video.srcObject = null;
    t.ui.audio.srcObject = null;
    t.ui.tile.remove();
    if (t.screenUi) t.screenUi.tile.remove();
    this.layout();
  }

  /** Shows `track` (or nothing, for null) as the participant's 'audio' or 'video'. */
  attach(id, kind, track) {
    const t = this.#tiles.get(id);
    if (!t) return;
    t[kind] = track;
    if (t.screen === track && track) this.attachScreen(id, '', null);
    const el = kind === 'video' ? t.ui.video : t.ui.audio;
    el.srcObject = track ? new MediaStream([track]) : null;
    if (track && kind === 'video') this.sizes.schedule(el);
    if (track) {
      el.play().catch((err) => {
        log(`${kind} playback blocked: ${err.name}`);
        if (kind === 'audio') this.onAudioBlocked();
      });
    }
  }

  /**
   * A receiver is reused when its previous sender left: lets go of `track` wherever it was shown but for `id`.
   * Returns the participants whose tile lost it.
   */
  release(track, id) {
    const released = [];
    for (const [other, t] of this.#tiles) {
      if (other !== id && t[track.kind] === track) {
        this.attach(other, track.kind, null);
        released.push(other);
      }
    }
    return released;
  }

  /** A participant's screen share, in a tile of its own next to their camera's; null removes it. */
  attachScreen(id, name, track) {
    const t = this.#tiles.get(id);
    if (!t) return;
    t.screen = track;
    if (!track) {
      if (t.screenUi) {
        this.sizes.unobserve(t.screenUi.video);
        t.screenUi.video.srcObject = null;
        t.screenUi.tile.remove();
        t.screenUi = null;
        this.layout();
      }
      return;
    }
    if (!t.screenUi) {
      t.screenUi = this.#makeTile(`${id}:screen`, {});
      t.screenUi.tile.classList.add('screen');
      t.screenUi.micBadge.hidden = true;
      t.screenUi.avatar.hidden = true;
    }
    t.screenUi.name.textContent = `${name} (screen)`;
    t.screenUi.video.srcObject = new MediaStream([track]);
    t.screenUi.video.play().catch(() => {});
    this.sizes.schedule(t.screenUi.video);
  }

  /**
   * Brings a tile up to date (`id` null: our own): `label` (default `name`, whose initials the avatar shows),
   * `chosen` (the self-chosen label or ''), `title` (shown on hover), whether the microphone and video are on.
   * Video shows only where a track is attached.
   */
  show(id, { name, label = name, chosen, title, audioOn, videoOn }) {
    const t = id === null ? this.#self && { ui: this.#self, video: true } : this.#tiles.get(id);
    if (!t) return;
    const ui = t.ui;
    ui.name.textContent = label;
    ui.chosen.textContent = chosen;
    ui.chosen.hidden = !chosen;
    ui.avatar.querySelector('span').textContent = initials(name);
    ui.micBadge.hidden = audioOn;
    ui.avatar.hidden = videoOn && !!t.video;
    if (title !== undefined) ui.tile.title = title;
  }

  /** Our own tile, showing `stream` (muted); `show(null, …)` updates it. Added once. */
  addSelf(stream) {
    if (this.#self) return;
    this.#self = this.#makeTile('self', { self: true });
    this.#self.video.srcObject = stream;
  }

  get hasSelf() { return !!this.#self; }

  /** Marks the participant's tile as the active speaker (null: nobody). */
  setSpeaking(id) {
    this.element.querySelectorAll('.tile.speaking').forEach((t) => t.classList.remove('speaking'));
    if (!id) return;
    const tile = this.element.querySelector(`.tile[data-participant="${CSS.escape(id)}"]`);
    if (tile) tile.classList.add('speaking');
  }

  /** Chooses the column count that gives the biggest 16:9 tiles that all fit (phones included); below a minimum
   *  size the grid scrolls instead. */
  layout() {
    const grid = this.element;
    const n = grid.children.length;
    const gap = 8;
    const width = grid.clientWidth - 2 * gap;
    const height = grid.clientHeight - 2 * gap;
    let best = { cols: 1, tileWidth: 0 };
    for (let cols = 1; cols <= Math.max(1, n); cols++) {
      const rows = Math.ceil(n / cols);
      const tileWidth = Math.min((width - (cols - 1) * gap) / cols, ((height - (rows - 1) * gap) / rows) * 16 / 9);
      if (tileWidth > best.tileWidth) best = { cols, tileWidth };
    }
    const minWidth = Math.min(width, 160);
    if (best.tileWidth < minWidth) {
      const cols = Math.max(1, Math.floor((width + gap) / (minWidth + gap)));
      best = { cols, tileWidth: (width - (cols - 1) * gap) / cols };
    }
    grid.dataset.count = String(n);
    grid.style.setProperty('--cols', String(best.cols));
    grid.style.setProperty('--tile-width', `${Math.max(0, Math.floor(best.tileWidth))}px`);
  }

  #makeTile(id, { self = false, shown = true }) {
    const el = (tag, className) => Object.assign(document.createElement(tag), className ? { className } : {});
    const tile = el('div', 'tile' + (self ? ' self' : ' remote'));
    tile.dataset.participant = id;
    const video = Object.assign(el('video'), { autoplay: true, playsInline: true, muted: true }); // sound: the <audio>
    const avatar = el('div', 'avatar');
    avatar.append(el('span'));
    const micBadge = Object.assign(el('span', 'badge mic-off'), { title: 'Microphone off' });
    micBadge.append(icon('micOff'), Object.assign(el('span', 'visually-hidden'), { textContent: ' (microphone off)' }));
    const name = el('span', 'name');
    const chosen = Object.assign(el('span', 'chosen'), { hidden: true });
    const label = el('div', 'label');
    label.append(micBadge, name, chosen);
    tile.append(video, avatar, label);
    const audio = Object.assign(el('audio'), { autoplay: true });
    if (!self) {
      tile.append(audio);
      this.sizes.observe(video);
    }
    if (shown) {
      this.element.append(tile);
      this.layout();
    }
    return { tile, video, audio, avatar, micBadge, name, chosen };
  }
}
