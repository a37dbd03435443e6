// Raised hands (docs/protocol.md, "Meeting controls"): the room's queue as the server keeps it, in order. Draws the
// Raise hand button (pressed while ours is up), the numbered queue in the People panel (hosts can lower anyone's
// hand there), and a hand badge with the place in the queue on each tile. Tiles are decorated from outside
// (tiles.js does not know about hands): the badge goes into a tile's label and is put back when tiles are redrawn.

import { formatNumber, formatTime, language, t } from '../lib/i18n.js';
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
    button.title = t(raised ? 'hands.lowerTitle' : 'hands.raiseTitle');
    button.querySelector('.text').textContent = t(raised ? 'hands.lower' : 'hands.raise');
    setIcon(button.querySelector('.icon'), 'hand');

    const items = this.queue.map((h, i) => {
      const mine = !!me && h.participant === me.id;
      const info = this.roster.participants.get(h.participant);
      const name = mine ? t('common.youSuffix', { name: (me && me.name) || this.session.name }) : (info ? displayName(info) : t('common.someone'));
      const li = document.createElement('li');
      li.dataset.participant = h.participant;
      const place = document.createElement('span');
      place.className = 'place';
      place.textContent = `${formatNumber(i + 1)}.`;
      const who = document.createElement('span');
      who.className = 'name';
      who.textContent = name;
      const at = new Date(h.at);
      if (!Number.isNaN(at.getTime())) li.title = t('hands.raisedAt', { time: formatTime(at) });
      li.append(place, icon('hand'), who);
      if (mine || isHost) {
        const lower = document.createElement('button');
        lower.type = 'button';
        lower.className = 'small lower-hand';
        lower.textContent = t('hands.lowerButton');
        lower.setAttribute('aria-label', mine ? t('hands.lowerTitle') : t('hands.lowerName', { name }));
        lower.addEventListener('click', () => this.send(mine ? { type: 'lower-hand' } : { type: 'lower-hand', participant: h.participant }));
        li.append(lower);
      }
      return li;
    });
    $('hands-list').replaceChildren(...items);
    $('hands-count').textContent = formatNumber(items.length);
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
      const text = t('hands.onTile', { place: ordinal(place) });
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
      badge.lastChild.textContent = formatNumber(place);
    }
  }
}

// "1st", "2nd" in English; the number alone in the other languages (their texts say "number {place}").
function ordinal(n) {
  if (language !== 'en') return formatNumber(n);
  const s = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return n + (s[(v - 20) % 10] || s[v] || s[0]);
}
