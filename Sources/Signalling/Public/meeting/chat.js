// The meeting's chat (docs/protocol.md, "Chat"): the panel toggled from the control bar, the messages with names and
// local times (text only: textContent, never markup), the input (Enter sends, Shift+Enter a new line), the server's
// chat errors inline, an unread count on the button while the panel is closed, and for hosts "Download chat" (the
// room's chat as a text file, authorised with the host's own join token).

import { formatNumber, formatTime, language, locale, t } from '../lib/i18n.js';
import { log } from './log.js';

const $ = (id) => document.getElementById(id);

export const CHAT_MAX = 2000;

// The server's chat error codes, by their keys in lang/*.js.
const ERRORS = {
  'chat-empty': 'chat.empty',
  'chat-too-long': 'chat.tooLong',
  'chat-rate-limited': 'chat.rateLimited',
  'chat-failed': 'chat.failed',
  'not-admitted': 'chat.notAdmitted',
};
const errorText = (code) => t(ERRORS[code], { max: formatNumber(CHAT_MAX) });

export class Chat {
  /** [{id, from, identity, name, text, at}], oldest first */
  messages = [];
  unread = 0;
  #pending = '';   // the text we sent last, put back into the input if the server refuses it

  /**
   * `session`: {me}; `send(msg)`: the socket's send (false when not open); `token`: our join token (for the
   * download); `room()`: the room's name; `onLayout()`: the stage changed size.
   */
  constructor({ session, send, token, room, onLayout }) {
    Object.assign(this, { session, send, token, room, onLayout });
  }

  get open() { return !$('chat').hidden; }

  wire() {
    $('chat-button').addEventListener('click', () => this.toggle(!this.open));
    $('chat-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    $('chat-input').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.submit();
      }
    });
    $('chat-input').addEventListener('input', () => this.showError(''));
    $('chat-download-button').addEventListener('click', () => this.download());
  }

  toggle(open) {
    $('chat').hidden = !open;
    $('chat-button').setAttribute('aria-pressed', String(open));
    if (open) {
      this.unread = 0;
      this.#drawBadge();
      this.#scrollToEnd();
      $('chat-input').focus();
    }
    this.onLayout();
  }

  submit() {
    const input = $('chat-input');
    const text = input.value;
    if (!text.trim()) {
      this.showError(errorText('chat-empty'));
      return;
    }
    if (text.length > CHAT_MAX) {
      this.showError(errorText('chat-too-long'));
      return;
    }
    if (!this.send({ type: 'chat', text })) {
      this.showError(t('chat.notConnected'));
      return;
    }
    this.#pending = text;
    input.value = '';
    this.showError('');
  }

  /** `joined`'s history: replaces what we have (a resume brings the same messages again). */
  setHistory(list) {
    this.messages = [];
    $('chat-list').replaceChildren();
    for (const m of Array.isArray(list) ? list : []) this.#append(m, false);
    this.#scrollToEnd();
    this.render();
  }

  /** A `chat` message (ours included). */
  received(msg) {
    if (this.messages.some((m) => m.id === msg.id)) return;
    this.#append(msg, true);
    const me = this.session.me;
    if (me && msg.from === me.id) this.#pending = '';
    else if (!this.open) {
      this.unread += 1;
      this.#drawBadge();
    }
  }

  /** An `error` with a chat code: said under the input; a refused message goes back into it. */
  error(code, message) {
    this.showError(ERRORS[code] ? errorText(code) : ((language === 'en' && message) || t('chat.notSent', { code })));
    const input = $('chat-input');
    if (this.#pending && !input.value && code !== 'chat-failed') input.value = this.#pending;
    this.#pending = '';
  }

  showError(text) {
    const el = $('chat-error');
    el.textContent = text;
    el.hidden = !text;
  }

  /** Our role may change (made co-host): hosts get the download button. */
  render() {
    const me = this.session.me;
    $('chat-download-button').hidden = !(me && me.role === 'host' && this.token);
    this.#drawBadge();
  }

  /** Fetches the room's chat as text with our token and saves it as a file. */
  async download() {
    const room = this.room();
    try {
      const res = await fetch(`/api/rooms/${encodeURIComponent(room)}/chat`, {
        headers: { Authorization: `Bearer ${this.token}`, Accept: 'text/plain' },
        cache: 'no-store',
      });
      if (!res.ok) {
        this.showError(res.status === 403 ? t('chat.downloadForbidden') : t('chat.downloadFailedStatus', { status: res.status }));
        return;
      }
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `${room}-chat.txt`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      log(`chat download failed: ${err.message}`);
      this.showError(t('chat.downloadFailed'));
    }
  }

  #append(m, scroll) {
    if (!m || typeof m.text !== 'string') return;
    this.messages.push(m);
    const list = $('chat-list');
    const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 24;
    const me = this.session.me;
    const mine = !!me && m.from === me.id;
    const li = document.createElement('li');
    li.className = mine ? 'mine' : '';
    li.dataset.id = String(m.id);
    const head = document.createElement('div');
    head.className = 'chat-meta';
    const name = document.createElement('span');
    name.className = 'chat-name';
    name.textContent = mine ? t('common.you') : (m.name || m.identity || t('common.guest'));
    if (m.identity && m.identity !== m.name) name.title = m.identity;
    head.append(name);
    const at = new Date(m.at);
    if (!Number.isNaN(at.getTime())) {
      const time = document.createElement('time');
      time.dateTime = at.toISOString();
      time.textContent = formatTime(at);
      time.title = at.toLocaleString(locale);
      head.append(time);
    }
    const text = document.createElement('p');
    text.className = 'chat-text';
    text.textContent = m.text;
    li.append(head, text);
    list.append(li);
    if (scroll && (atEnd || mine)) this.#scrollToEnd();
  }

  #scrollToEnd() {
    const list = $('chat-list');
    list.scrollTop = list.scrollHeight;
  }

  #drawBadge() {
    const badge = $('chat-badge');
    badge.hidden = this.unread === 0;
    badge.textContent = this.unread > 99 ? `${formatNumber(99)}+` : formatNumber(this.unread);
    $('chat-button').setAttribute('aria-label', this.unread ? t('chat.unread', { count: formatNumber(this.unread) }) : t('chat.title'));
  }
}
