// Keeps the roster (the room's data), the grid (tiles) and the People list in step: every change to who is in
// the room, what they publish or which track arrived goes through here, and both views are redrawn from it.

import { t } from '../lib/i18n.js';
import { log } from './log.js';
import { chosenLabel, displayName } from './names.js';
import { renderPeople } from './people.js';

export class Participants {
  /** False in audio-only mode (data-mode.js): tiles show their avatar, whatever the others send. */
  receivingVideo = true;

  /**
   * `session`: {me, name} (who we are); `local`: our LocalMedia; `roster`: Roster; `grid`: Grid;
   * `serverTrackOfMid(mid)`: the answer's track id for a mid; `send(msg)`: for the host actions;
   * `handPosition(id)`: the place of a participant's raised hand in the queue, 0 when down (hands.js).
   */
  constructor({ session, local, roster, grid, serverTrackOfMid, send, handPosition = () => 0 }) {
    Object.assign(this, { session, local, roster, grid, serverTrackOfMid, send, handPosition });
  }

  /** A participant joined or changed; ourselves and malformed entries are left out. */
  add(info) {
    if (!info || !info.id || (this.session.me && info.id === this.session.me.id)) return;
    if (this.roster.upsert(info)) this.grid.add(info.id, { shown: info.role !== 'viewer' });
    this.refresh(info.id);
  }

  remove(id) {
    if (!this.roster.participants.has(id)) return;
    this.roster.remove(id);
    this.grid.remove(id);
    this.renderPeople();
  }

  removeAll() {
    for (const id of [...this.roster.participants.keys()]) this.remove(id);
  }

  /** Makes the room what a `joined` says it is: those not in `list` go, the new ones come. */
  sync(list) {
    const present = new Set(list.map((p) => p.id));
    for (const id of [...this.roster.participants.keys()]) if (!present.has(id)) this.remove(id);
    for (const p of list) if (!this.roster.participants.has(p.id)) this.add(p);
  }

  /** Redraws a participant's tile and the list from the roster. */
  refresh(id) {
    const info = this.roster.participants.get(id);
    if (!info) return;
    const name = displayName(info);
    this.grid.show(id, {
      name, chosen: chosenLabel(info), title: info.identity || name,
      audioOn: this.roster.publishedState(id, 'audio') === 'on',
      videoOn: this.receivingVideo && this.roster.publishedState(id, 'video') === 'on',
    });
    this.renderPeople();
  }

  refreshAll() {
    for (const id of this.roster.participants.keys()) this.refresh(id);
  }

  /** Redraws our own tile and the list. */
  refreshSelf() {
    if (!this.grid.hasSelf) return;
    const name = this.#selfName();
    this.grid.show(null, {
      name, label: t('common.youSuffix', { name }), chosen: chosenLabel(this.session.me), audioOn: this.local.audioOn, videoOn: this.local.videoOn,
    });
    this.renderPeople();
  }

  /** Our peer connection is gone (the server closed our transport): the tiles stay, without their tracks. */
  clearReceived() {
    for (const id of this.roster.participants.keys()) {
      this.grid.attach(id, 'audio', null);
      this.grid.attach(id, 'video', null);
      this.grid.attachScreen(id, '', null);
    }
    this.roster.trackOwner.clear();
    this.refreshAll();
  }

  /** A track was published, unpublished or muted (by the server's word). */
  trackPublished(track) {
    if (track && track.id) this.roster.tracks.set(track.id, { ...track });
    this.refresh(track && track.participant);
  }

  trackUnpublished(trackId) {
    const t = this.roster.tracks.get(trackId);
    this.roster.tracks.delete(trackId);
    if (!t) return;
    if (t.source === 'screen') this.grid.attachScreen(t.participant, '', null);
    this.refresh(t.participant);
  }

  trackMuted(trackId, muted) {
    const t = this.roster.tracks.get(trackId);
    if (!t) return;
    t.muted = !!muted;
    this.refresh(t.participant);
  }

  /** The peer connection's `track` event: shows the track on its sender's tile (the stream id is its participant). */
  received(ev) {
    const stream = ev.streams[0];
    const track = ev.track;
    if (!stream) {
      log(`track ${track.kind} without a stream: ignored`);
      return;
    }
    const pid = stream.id;
    log(`ontrack ${track.kind} from ${pid}`);
    this.roster.trackOwner.set(track.id, pid);
    for (const other of this.grid.release(track, pid)) this.refresh(other);
    if (!this.roster.participants.has(pid)) this.add({ id: pid, identity: '', name: '', role: 'participant' });
    const serverTrack = ev.transceiver ? this.serverTrackOfMid(ev.transceiver.mid) : undefined;
    const announced = serverTrack && this.roster.tracks.get(serverTrack);
    if (track.kind === 'video' && announced && announced.source === 'screen') {
      this.grid.attachScreen(pid, displayName(this.roster.participants.get(pid)), track);
      return;
    }
    this.grid.attach(pid, track.kind, track);
    this.refresh(pid);
  }

  renderPeople() {
    const rows = [];
    const me = this.session.me;
    if (me || this.grid.hasSelf) {
      rows.push({ name: t('common.youSuffix', { name: this.#selfName() }), identity: me && me.identity, chosen: chosenLabel(me),
        audio: this.local.audioOn ? 'on' : 'muted', video: this.local.videoOn ? 'on' : 'muted',
        role: me && me.role, hand: me ? this.handPosition(me.id) : 0 });
    }
    for (const info of this.roster.participants.values()) {
      rows.push({ id: info.id, name: displayName(info), identity: info.identity, chosen: chosenLabel(info),
        audio: this.roster.publishedState(info.id, 'audio'), video: this.roster.publishedState(info.id, 'video'),
        role: info.role, hand: this.handPosition(info.id) });
    }
    renderPeople({ rows, removed: this.roster.removed, invited: this.roster.invited, isHost: !!me && me.role === 'host', send: this.send });
  }

  #selfName() {
    return (this.session.me && this.session.me.name) || this.session.name;
  }
}
