// The grid of video tiles: one per participant who can send (viewers get none), one for ourselves, and one more
// for a participant's screen share. The one owner of the tiles and of which received track each one shows.
//
// Large meetings: the tiles are shown a page at a time (at most 9 on a desktop, 4 on a phone), or as a speaker
// view (the active speaker's tile, or a screen share, large, and a strip of the others, a page at a time). A tile
// off the page is hidden, so its video reports 0×0 (video-size.js) and the server pauses it: the browser receives
// video only for the tiles it shows. Its <audio> stays, so everyone is heard.

import { t as translate } from '../lib/i18n.js';
import { icon } from './icons.js';
import { log } from './log.js';
import { initials } from './names.js';

/** Narrow or short screens (the phone layouts of meeting.css) get smaller pages. */
const PHONE_QUERY = '(max-width: 640px), (orientation: landscape) and (max-height: 500px)';
/** Tiles on one page of the grid, and in the speaker view's strip: [desktop, phone]. */
export const GRID_PAGE_TILES = [9, 4];
export const STRIP_PAGE_TILES = [5, 3];

export class Grid {
  #tiles = new Map();   // participant id -> {ui, video, audio, screen, screenUi}: the tracks shown and their tile
  #self = null;
  #speaker = null;      // participant id of the latest active speaker
  /** 'grid' or 'speaker'; the page shown (from 0) and how many there are. */
  view = 'grid';
  page = 0;
  pages = 1;

  /**
   * `element`: the grid; `sizes`: a VideoSizeReporter; `onAudioBlocked()`: autoplay refused to play sound;
   * `onPaged({view, page, pages, tiles})`: the view, the page or the number of pages changed (the pager redraws).
   */
  constructor({ element, sizes, onAudioBlocked, onPaged = () => {} }) {
    Object.assign(this, { element, sizes, onAudioBlocked, onPaged });
  }

  /** Shows the page `delta` pages on (clamped). */
  turnPage(delta) {
    this.page += delta;
    this.layout();
  }

  /** 'grid' or 'speaker'. */
  setView(view) {
    if (view === this.view) return;
    this.view = view;
    this.page = 0;
    this.layout();
  }

  /** The participant ids of the remote tiles shown now (tests, window.sabhaMeeting). */
  shownParticipants() {
    return [...this.element.querySelectorAll('.tile.remote:not([hidden]):not(.screen)')].map((t) => t.dataset.participant);
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
      this.layout();   // screen shares come first
    }
    t.screenUi.name.textContent = translate('tiles.screen', { name });
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

  /** Marks the participant's tile as the active speaker (null: nobody); the speaker view shows it large. */
  setSpeaking(id) {
    this.element.querySelectorAll('.tile.speaking').forEach((t) => t.classList.remove('speaking'));
    if (id) this.#speaker = id;
    if (!id) return;
    const tile = this.element.querySelector(`.tile[data-participant="${CSS.escape(id)}"]`);
    if (tile) tile.classList.add('speaking');
    if (this.view === 'speaker') this.layout();
  }

  /**
   * Chooses which tiles show (the page; the speaker view's large tile) and their size: for the grid, the column
   * count that gives the biggest 16:9 tiles that all fit (phones included; below a minimum size the grid scrolls
   * instead); for the speaker view, a strip of small tiles along the bottom and the large one above it. Tiles that
   * change between shown and hidden report their new size at once.
   */
  layout() {
    const grid = this.element;
    const phone = window.matchMedia(PHONE_QUERY).matches ? 1 : 0;
    // Screen shares first, then our own tile and the others in the order they came.
    const all = [...grid.children].filter((t) => t.classList.contains('tile'));
    all.sort((a, b) => Number(b.classList.contains('screen')) - Number(a.classList.contains('screen')));
    const featured = this.view === 'speaker' && all.length > 1 ? this.#featured(all) : null;
    const rest = all.filter((t) => t !== featured);
    const perPage = (featured ? STRIP_PAGE_TILES : GRID_PAGE_TILES)[phone];
    this.pages = Math.max(1, Math.ceil(rest.length / perPage));
    this.page = Math.min(Math.max(0, this.page), this.pages - 1);
    const shown = new Set(rest.slice(this.page * perPage, (this.page + 1) * perPage));
    if (featured) shown.add(featured);
    for (const tile of all) {
      tile.style.order = String(all.indexOf(tile));
      tile.classList.toggle('featured', tile === featured);
      const hidden = !shown.has(tile);
      if (tile.hidden !== hidden) {
        tile.hidden = hidden;
        const video = tile.querySelector('video');
        if (video && !tile.classList.contains('self')) this.sizes.schedule(video);
      }
    }
    grid.dataset.view = featured ? 'speaker' : 'grid';
    grid.dataset.count = String(shown.size);
    const gap = 8;
    const width = grid.clientWidth - 2 * gap;
    const height = grid.clientHeight - 2 * gap;
    if (featured) this.#layoutSpeaker(shown.size - 1, perPage, width, height, gap);
    else this.#layoutGrid(shown.size, width, height, gap);
    this.onPaged({ view: featured ? 'speaker' : 'grid', page: this.page, pages: this.pages, tiles: all.length });
  }

  /** The speaker view's large tile: a screen share, else the active speaker's (not ours), else the first other one. */
  #featured(all) {
    const screen = all.find((t) => t.classList.contains('screen'));
    if (screen) return screen;
    const speaker = this.#speaker && all.find((t) => t.dataset.participant === this.#speaker && !t.classList.contains('self'));
    return speaker || all.find((t) => t.classList.contains('remote')) || all[0];
  }

  #layoutSpeaker(stripCount, perPage, width, height, gap) {
    const grid = this.element;
    // Strip tiles as wide as a full page of them allows, at most 240 pixels and a quarter of the height.
    const stripWidth = Math.max(0, Math.min(240, (width - (perPage - 1) * gap) / perPage, (height / 4) * 16 / 9));
    const stripHeight = stripCount > 0 ? stripWidth * 9 / 16 + gap : 0;
    grid.style.setProperty('--tile-width', `${Math.floor(stripWidth)}px`);
    grid.style.setProperty('--featured-height', `${Math.max(0, Math.floor(height - stripHeight))}px`);
  }

  #layoutGrid(n, width, height, gap) {
    const grid = this.element;
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
    const micBadge = Object.assign(el('span', 'badge mic-off'), { title: translate('tiles.micOff') });
    micBadge.append(icon('micOff'), Object.assign(el('span', 'visually-hidden'), { textContent: translate('tiles.micOffSpoken') }));
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
