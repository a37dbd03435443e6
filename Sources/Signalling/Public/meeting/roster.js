// The room as the server tells it: who is in it, which tracks they publish (muted or not), which received track
// belongs to whom, and, for hosts, whom a host removed. Data only: the page draws it elsewhere.

export class Roster {
  /** participant id -> {id, identity, name, role, chosenName} */
  participants = new Map();
  /** server track id -> {id, participant, kind, source, muted} */
  tracks = new Map();
  /** MediaStreamTrack.id of a receiver -> participant id (set when the track arrives) */
  trackOwner = new Map();
  /** hosts only: [{identity, name}] kept out of the room until let back in */
  removed = [];
  /** hosts only: a scheduled meeting's invited people, [{identity, name, role, answer, comment}] */
  invited = [];

  /** Adds or updates a participant; returns true when it is new. */
  upsert(info) {
    const existing = this.participants.get(info.id);
    this.participants.set(info.id, existing ? { ...existing, ...info } : { ...info });
    return !existing;
  }

  /** Forgets a participant with its tracks. */
  remove(id) {
    this.participants.delete(id);
    for (const [trackId, owner] of this.trackOwner) if (owner === id) this.trackOwner.delete(trackId);
    for (const [trackId, t] of this.tracks) if (t.participant === id) this.tracks.delete(trackId);
  }

  setTracks(tracks) {
    for (const t of tracks || []) this.tracks.set(t.id, { ...t });
  }

  setRemoved(list) {
    this.removed = Array.isArray(list) ? list : [];
  }

  setInvited(list) {
    this.invited = Array.isArray(list) ? list.filter((p) => p && typeof p.identity === 'string') : [];
  }

  /** What others see of a participant's 'audio' or 'video': 'on', 'muted' or 'none' (its screen aside). */
  publishedState(id, kind) {
    let published = false;
    for (const t of this.tracks.values()) {
      if (t.participant !== id || t.kind !== kind || t.source === 'screen') continue;
      if (!t.muted) return 'on';
      published = true;
    }
    return published ? 'muted' : 'none';
  }

  clearMedia() {
    this.tracks.clear();
    this.trackOwner.clear();
  }
}
