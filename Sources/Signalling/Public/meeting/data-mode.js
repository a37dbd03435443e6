// Low-data mode, for phones on a small data plan or a weak network: receive every video at its lowest layer, or
// no video at all (audio only). Chosen in the control bar, remembered on this device (localStorage), and told to
// the server (`receive-video`, docs/protocol.md), which forwards accordingly.

import { t } from '../lib/i18n.js';
import { log } from './log.js';

const KEY = 'sabha-receive-video';
const $ = (id) => document.getElementById(id);

/** The modes, as the server names them, and what the button says (keys in lang/*.js). */
export const MODES = Object.freeze({
  auto: { label: 'data.fullLabel', short: 'data.full' },
  low: { label: 'data.lowLabel', short: 'data.low' },
  off: { label: 'data.offLabel', short: 'data.off' },
});

function stored() {
  try {
    const mode = window.localStorage.getItem(KEY);
    return Object.hasOwn(MODES, mode) ? mode : 'auto';
  } catch (_) {
    return 'auto';   // storage refused (private mode): the default
  }
}

export class DataMode {
  mode = stored();

  /** `send(msg)`: the socket's send; `onChange(mode)`: the page redraws what depends on it. */
  constructor({ send, onChange }) {
    Object.assign(this, { send, onChange });
  }

  /** Wires the button and its menu. */
  wire() {
    const button = $('data-button');
    const menu = $('data-menu');
    button.addEventListener('click', () => this.#open(menu.hidden));
    menu.addEventListener('change', (ev) => {
      if (ev.target && ev.target.name === 'data-mode') this.set(ev.target.value);
      this.#open(false);
    });
    document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') this.#open(false); });
    this.#draw();
  }

  /** Chooses a mode, remembers it on this device and tells the server. */
  set(mode) {
    if (!Object.hasOwn(MODES, mode) || mode === this.mode) return;
    this.mode = mode;
    try { window.localStorage.setItem(KEY, mode); } catch (_) { /* not remembered, still used */ }
    log(`receive-video ${mode}`);
    this.announce();
    this.#draw();
    this.onChange(mode);
  }

  /** Tells the server (after joining and after each resume); `auto` is what it assumes, so it is not repeated. */
  announce({ joined = false } = {}) {
    if (joined && this.mode === 'auto') return;
    this.send({ type: 'receive-video', mode: this.mode });
  }

  // Keyboard: opening puts the focus on the chosen mode (the menu comes after Leave in the tab order), and closing
  // from inside the menu gives it back to the button instead of losing it with the hidden menu.
  #open(open) {
    const menu = $('data-menu');
    const focusWasInside = menu.contains(document.activeElement);
    menu.hidden = !open;
    $('data-button').setAttribute('aria-expanded', String(open));
    if (open) {
      const chosen = menu.querySelector('input[name="data-mode"]:checked');
      if (chosen) chosen.focus();
    } else if (focusWasInside) {
      $('data-button').focus();
    }
  }

  #draw() {
    const button = $('data-button');
    button.querySelector('.text').textContent = t(MODES[this.mode].short);
    button.title = t('data.title', { mode: t(MODES[this.mode].label) });
    button.dataset.mode = this.mode;
    for (const input of document.querySelectorAll('#data-menu input[name="data-mode"]')) input.checked = input.value === this.mode;
    $('grid').dataset.video = this.mode;
  }
}
