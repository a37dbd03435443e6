// Waiting to be let in (docs/protocol.md, "Meeting controls"): the joiner's waiting screen while the server keeps
// it in the lobby or waiting for a host, and, for hosts, the list of people waiting with Admit and Deny. The server
// decides; the page shows what it says and sends the hosts' answers.

import { formatNumber, t } from '../lib/i18n.js';
import { displayName } from './names.js';
import { showScreen } from './status.js';

const $ = (id) => document.getElementById(id);

function button(text, label, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.title = label;
  b.addEventListener('click', onClick);
  return b;
}

/** The joiner's side: the waiting screen between `lobby` and `joined` (or a fatal error). */
export class Lobby {
  /** True between `lobby` and `joined`: the page must not start media meanwhile. */
  waiting = false;
  reason = '';

  /** `onLeave()`: the person gives up waiting. */
  constructor({ onLeave }) {
    this.onLeave = onLeave;
  }

  wire() {
    $('lobby-leave-button').addEventListener('click', () => this.onLeave());
  }

  /** A `lobby` message: shows the waiting screen with the server's words. */
  wait(msg, room) {
    this.waiting = true;
    this.reason = String(msg.reason || 'lobby');
    const forHost = this.reason === 'waiting-for-host';
    $('lobby-title').textContent = t(forHost ? 'lobby.titleForHost' : 'lobby.title');
    $('lobby-room').textContent = room || '';
    // Our words for the reasons we know (the server's are English); the server's for any other.
    const known = forHost || this.reason === 'lobby';
    $('lobby-text').textContent = known || !msg.message ? t(forHost ? 'lobby.waitForHost' : 'lobby.wait') : String(msg.message);
    showScreen('lobby');
    $('lobby-title').focus();   // read out first; not the Leave button, where a stray Enter would end the wait
  }

  /** `joined` arrived: back to the meeting screen if we were waiting. Returns whether we were. */
  admitted() {
    if (!this.waiting) return false;
    this.waiting = false;
    showScreen('meeting');
    return true;
  }
}

/** The hosts' side: who waits in the lobby, in arrival order, with Admit and Deny. */
export class WaitingList {
  /** [{participant: {id, identity, name, role}, reason}] */
  entries = [];

  /** `send(msg)`: the socket's send; `isHost()`: whether we may admit; `onChange(count)`: the list changed. */
  constructor({ send, isHost, onChange }) {
    Object.assign(this, { send, isHost, onChange });
  }

  /** The whole list (from `joined` or `host-lists`); absent for non-hosts. */
  set(list) {
    this.entries = (Array.isArray(list) ? list : []).filter((w) => w && w.participant && w.participant.id);
    this.render();
  }

  /** `lobby-waiting`: one more. */
  add(participant) {
    if (!participant || !participant.id) return;
    this.entries = this.entries.filter((w) => w.participant.id !== participant.id);
    this.entries.push({ participant, reason: 'lobby' });
    this.render();
  }

  /** `lobby-left`: admitted, denied, gone or replaced. */
  remove(id) {
    this.entries = this.entries.filter((w) => w.participant.id !== id);
    this.render();
  }

  render() {
    const host = this.isHost();
    const items = host ? this.entries.map(({ participant }) => {
      const name = displayName(participant);
      const li = document.createElement('li');
      li.dataset.participant = participant.id;
      const who = document.createElement('div');
      who.className = 'who';
      const n = document.createElement('span');
      n.className = 'name';
      n.textContent = name;
      who.append(n);
      if (participant.identity && participant.identity !== name) {
        const i = document.createElement('span');
        i.className = 'identity';
        i.textContent = participant.identity;
        who.append(i);
      }
      const actions = document.createElement('span');
      actions.className = 'host-actions';
      actions.append(
        button(t('host.admit'), t('host.admitName', { name }), 'small admit', () => this.send({ type: 'admit', participant: participant.id })),
        button(t('host.deny'), t('host.denyName', { name }), 'small deny', () => this.send({ type: 'deny', participant: participant.id })),
      );
      li.append(who, actions);
      return li;
    }) : [];
    $('waiting-list').replaceChildren(...items);
    $('waiting-count').textContent = formatNumber(items.length);
    $('waiting').hidden = items.length === 0;
    this.onChange(items.length);
  }
}
