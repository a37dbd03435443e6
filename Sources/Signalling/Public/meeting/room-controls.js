// The room's controls (docs/protocol.md, "Meeting controls"): whether the meeting is locked and whether everyone
// may share a screen, as the server says; for hosts, the buttons that change them and "Mute everyone". Anyone else
// only sees their effect (the Share screen button is disabled, with why, unless everyone may share).

const $ = (id) => document.getElementById(id);

export class RoomControls {
  /** {locked, screenShareAllowed}, from `joined` and `room-controls` */
  state = { locked: false, screenShareAllowed: false };

  /** `session`: {me}; `send(msg)`: the socket's send; `onChange()`: the share rule or our role changed. */
  constructor({ session, send, onChange }) {
    Object.assign(this, { session, send, onChange });
  }

  wire() {
    $('lock-button').addEventListener('click', () => this.send({ type: 'lock', locked: !this.state.locked }));
    $('allow-share-button').addEventListener('click',
      () => this.send({ type: 'allow-screen-share', allowed: !this.state.screenShareAllowed }));
    $('mute-all-button').addEventListener('click', () => {
      if (window.confirm('Turn off everyone’s microphone? Each person can turn theirs on again.')) this.send({ type: 'mute-all' });
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

  render() {
    $('host-controls').hidden = !this.isHost;
    const lock = $('lock-button');
    lock.setAttribute('aria-pressed', String(this.state.locked));
    lock.textContent = this.state.locked ? 'Meeting locked' : 'Lock meeting';
    lock.title = this.state.locked ? 'Unlock: let new people join again' : 'Lock: nobody new can join';
    const share = $('allow-share-button');
    share.setAttribute('aria-pressed', String(this.state.screenShareAllowed));
    share.title = this.state.screenShareAllowed ? 'Only hosts may share a screen again' : 'Let everyone share their screen';
    document.getElementById('room-name').dataset.locked = String(this.state.locked);
  }
}
