// Raised hands (docs/protocol.md, "Meeting controls"): the room's queue as the server keeps it, in order. Draws the
// Raise hand button (pressed while ours is up), the numbered queue in the People panel (hosts can lower anyone's
// hand there), and a hand badge with the place in the queue on each tile. Tiles are decorated from outside
// (tiles.js does not know about hands): the badge goes into a tile's label and is put back when tiles are redrawn.

import { icon, setIcon } from './icons.js';
import { displayName } from './names.js';

const $ = (id) => document.getElementById(id);

export class Hands {
  /** [{participant, at}], first raised first */
  queue = [];

  /**
   * `session`: {me, name}; `roster`: Roster (names); `send(msg)`: the socket's send; `grid`: the #grid element;
   * `onChange()`: the queue was drawn (the People list shows each hand too).
   */
  constructor({ session, roster, send, grid, onChange = () => {} }) {
    Object.assign(this, { session, roster, send, grid, onChange });
  }

  wire() {
    $('hand-button').addEventListener('click', () => this.toggle());
    // Tiles come and go (joins, pages of tiles): keep their badges in step without touching tiles.js.
    new MutationObserver(() => this.#decorateTiles()).observe(this.grid, { childList: true, subtree: true });
  }

  /** Whether our own hand is up. */
  get raised() {
    const me = this.session.me;
    return !!me && this.queue.some((h) => h.participant === me.id);
  }

  /** 1-based place of a participant in the queue, 0 when their hand is down. */
  position(id) {
    return this.queue.findIndex((h) => h.participant === id) + 1;
  }

  toggle() {
    this.send(this.raised ? { type: 'lower-hand' } : { type: 'raise-hand' });
  }

  /** The whole queue (from `joined` or `hands`). */
  set(list) {
    this.queue = (Array.isArray(list) ? list : []).filter((h) => h && typeof h.participant === 'string');
    this.render();
  }

  /** Someone left: their hand goes with them until the server's next word. */
  forget(id) {
    if (this.position(id)) this.set(this.queue.filter((h) => h.participant !== id));
  }

  render() {
    const me = this.session.me;
    const isHost = !!me && me.role === 'host';
    const button = $('hand-button');
    const raised = this.raised;
    button.hidden = !me || me.role === 'viewer';
    button.setAttribute('aria-pressed', String(raised));
    button.title = raised ? 'Lower your hand' : 'Raise your hand';
    button.querySelector('.text').textContent = raised ? 'Lower hand' : 'Raise hand';
    setIcon(button.querySelector('.icon'), 'hand');

    const items = this.queue.map((h, i) => {
      const mine = !!me && h.participant === me.id;
      const info = this.roster.participants.get(h.participant);
      const name = mine ? `${(me && me.name) || this.session.name} (you)` : (info ? displayName(info) : 'Someone');
      const li = document.createElement('li');
      li.dataset.participant = h.participant;
      const place = document.createElement('span');
      place.className = 'place';
      place.textContent = `${i + 1}.`;
      const who = document.createElement('span');
      who.className = 'name';
      who.textContent = name;
      const at = new Date(h.at);
      if (!Number.isNaN(at.getTime())) li.title = `Raised at ${at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
      li.append(place, icon('hand'), who);
      if (mine || isHost) {
        const lower = document.createElement('button');
        lower.type = 'button';
        lower.className = 'small lower-hand';
        lower.textContent = 'Lower';
        lower.setAttribute('aria-label', mine ? 'Lower your hand' : `Lower ${name}'s hand`);
        lower.addEventListener('click', () => this.send(mine ? { type: 'lower-hand' } : { type: 'lower-hand', participant: h.participant }));
        li.append(lower);
      }
      return li;
    });
    $('hands-list').replaceChildren(...items);
    $('hands-count').textContent = String(items.length);
    $('hands').hidden = items.length === 0;
    this.#decorateTiles();
    this.onChange();
  }

  // A hand badge with the queue place in each tile's label whose participant has a hand up; none elsewhere.
  #decorateTiles() {
    const me = this.session.me;
    for (const tile of this.grid.querySelectorAll('.tile')) {
      const label = tile.querySelector('.label');
      if (!label) continue;
      const pid = tile.dataset.participant === 'self' ? (me && me.id) : tile.dataset.participant;
      const place = tile.classList.contains('screen') ? 0 : this.position(pid);
      let badge = label.querySelector('.badge.hand');
      if (!place) {
        if (badge) badge.remove();
        continue;
      }
      const text = `Hand raised, ${ordinal(place)} in the queue`;
      if (badge && badge.title === text) continue;
      if (!badge) {
        badge = document.createElement('span');
        badge.className = 'badge hand';
        badge.append(icon('hand'), document.createElement('span'));
        label.prepend(badge);
      }
      badge.title = text;
      badge.setAttribute('aria-label', text);
      badge.setAttribute('role', 'img');
      badge.lastChild.textContent = String(place);
    }
  }
}

function ordinal(n) {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return n + (s[(v - 20) % 10] || s[v] || s[0]);
}
