// The room's recordings, for its hosts (issue 19): listed in the host controls with the state of their composition
// (being prepared, with how far) and, once composed, buttons that download the video (WebM) or the sound alone
// (Ogg Opus) with the host's own link token. Refreshed at join, when a recording stops, and every 3 s while one
// is being prepared.

import { formatNumber, t } from '../lib/i18n.js';
import { log } from './log.js';

const $ = (id) => document.getElementById(id);

export class RecordingsPanel {
  /** The room's recordings as the server last listed them. */
  entries = [];
  #timer = null;

  /** `session`: {me, room}; `token`: our link token. */
  constructor({ session, token }) {
    Object.assign(this, { session, token });
  }

  get #isHost() {
    const me = this.session.me;
    return !!me && me.role === 'host' && !!this.token;
  }

  async refresh() {
    clearTimeout(this.#timer);
    if (!this.#isHost) return this.render();
    try {
      const res = await fetch(`/api/rooms/${encodeURIComponent(this.session.room)}/recordings`, {
        headers: { Authorization: `Bearer ${this.token}` }, cache: 'no-store',
      });
      if (!res.ok) return;
      const list = await res.json();
      this.entries = Array.isArray(list) ? list : [];
      this.render();
      if (this.entries.some((r) => r.composition && ['pending', 'running'].includes(r.composition.state))) {
        this.#timer = setTimeout(() => this.refresh(), 3000);
      }
    } catch (err) {
      log(`recordings not listed: ${err.message}`);
    }
  }

  render() {
    const section = $('recordings');
    section.hidden = !this.#isHost || this.entries.length === 0;
    const list = $('recordings-list');
    list.replaceChildren();
    for (const entry of this.entries) list.append(this.#item(entry));
  }

  #item(entry) {
    const li = document.createElement('li');
    li.dataset.recording = entry.id;
    const started = new Date(entry.startedAt);
    const minutes = Math.max(1, Math.round(entry.duration / 60000));
    const label = document.createElement('span');
    label.textContent = t('recordings.item', {
      time: started.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), minutes: formatNumber(minutes),
    });
    li.append(label);
    const state = entry.composition ? entry.composition.state : 'none';
    if (state === 'done') {
      for (const kind of ['composed', 'audio']) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'small';
        button.dataset.kind = kind;
        button.textContent = t(kind === 'composed' ? 'recordings.downloadVideo' : 'recordings.downloadAudio');
        button.addEventListener('click', () => this.download(entry.id, kind));
        li.append(button);
      }
    } else {
      const status = document.createElement('span');
      status.className = 'recording-state';
      status.textContent = state === 'running'
        ? t('recordings.preparingProgress', { percent: formatNumber(Math.round((entry.composition.progress || 0) * 100)) })
        : t(state === 'failed' ? 'recordings.failed' : 'recordings.preparing');
      li.append(status);
    }
    return li;
  }

  /** Fetches one file with our token and saves it. */
  async download(id, kind) {
    const room = this.session.room;
    try {
      const res = await fetch(`/api/rooms/${encodeURIComponent(room)}/recordings/${encodeURIComponent(id)}/file?kind=${kind}`, {
        headers: { Authorization: `Bearer ${this.token}` }, cache: 'no-store',
      });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `${room}-${id}${kind === 'composed' ? '.webm' : '.opus'}`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (err) {
      log(`recording download failed: ${err.message}`);
      window.alert(t('recordings.downloadFailed'));
    }
  }
}
