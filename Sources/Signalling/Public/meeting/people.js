// The People panel: everyone in the meeting (ourselves first) with their microphone and camera state; for hosts,
// the host actions and the people a host removed.

import { formatNumber, t } from '../lib/i18n.js';
import { icon } from './icons.js';
import { participantActions, readmitButton } from './host-actions.js';

function span(className, text) {
  const s = document.createElement('span');
  s.className = className;
  s.textContent = text;
  return s;
}

// Name, self-chosen name and identity (where it says more than the name).
function who(name, chosen, identity) {
  const w = document.createElement('div');
  w.className = 'who';
  w.append(span('name', name));
  if (chosen) w.append(span('chosen', chosen));
  if (identity && identity !== name) w.append(span('identity', identity));
  return w;
}

// The icons are hidden from screen readers (icons.js); the same state goes to them in words.
function mediaIcons(audio, video) {
  const icons = document.createElement('span');
  icons.className = 'media';
  const a = icon(audio === 'on' ? 'mic' : 'micOff');
  a.classList.toggle('off', audio !== 'on');
  const v = icon(video === 'on' ? 'cam' : 'camOff');
  v.classList.toggle('off', video !== 'on');
  const state = (on) => t(on ? 'people.on' : 'people.off');
  const words = span('visually-hidden', t('people.media', { mic: state(audio === 'on'), camera: state(video === 'on') }));
  icons.append(a, v, words);
  return icons;
}

// A raised hand and its place in the queue (hands.js keeps the queue).
function handBadge(place) {
  const b = document.createElement('span');
  b.className = 'hand';
  b.setAttribute('role', 'img');
  b.setAttribute('aria-label', t('hands.inQueue', { place: formatNumber(place) }));
  b.title = t('hands.inQueueShort', { place: formatNumber(place) });
  const n = document.createElement('span');
  n.textContent = formatNumber(place);
  b.append(icon('hand'), n);
  return b;
}

// An invitee's answer to the invitation, in words (hosts only): accepted, declined, tentative, no answer.
const ANSWERS = new Set(['accepted', 'declined', 'tentative', 'delegated', 'needs-action']);
function answerBadge(person) {
  const answer = ANSWERS.has(person.answer) ? person.answer : 'needs-action';
  const b = span(`answer answer-${answer}`, t(`answer.${answer}`));
  if (person.comment) {
    b.title = person.comment;
    b.append(span('visually-hidden', `: ${person.comment}`));
  }
  return b;
}

// Invitees who are not in the room, after those who are: their answer says whether to wait for them.
function invitedRows(invited, present) {
  return invited.filter((p) => !present.has(p.identity.toLowerCase())).map((p) => {
    const li = document.createElement('li');
    li.className = 'invited';
    li.append(who(p.name || p.identity, '', p.name ? p.identity : ''), span('absent', t('people.notHere')), answerBadge(p));
    return li;
  });
}

/**
 * Draws the list. `rows`: [{id (absent for ourselves), name, identity, chosen, audio, video, role, hand}] with
 * audio/video 'on', 'muted' or 'none' and `hand` the place in the raised-hands queue (0: down); `removed`:
 * [{identity, name}]; `invited` (hosts of a scheduled meeting): [{identity, name, answer, comment}]; `isHost` adds the
 * host actions; `send(msg)` sends them.
 */
export function renderPeople({ rows, removed, invited = [], isHost, send }) {
  const answers = new Map(invited.map((p) => [p.identity.toLowerCase(), p]));
  const items = rows.map((r) => {
    const li = document.createElement('li');
    if (r.id) li.dataset.participant = r.id;
    const w = who(r.name, r.chosen, r.identity);
    if (r.role === 'host') w.querySelector('.name').append(span('role', ` · ${t('role.host')}`));
    li.append(w);
    const invitee = isHost && r.identity && answers.get(String(r.identity).toLowerCase());
    if (invitee) li.append(answerBadge(invitee));
    if (r.hand) li.append(handBadge(r.hand));
    li.append(mediaIcons(r.audio, r.video));
    if (isHost && r.id) li.append(participantActions({ id: r.id, name: r.name, audio: r.audio, role: r.role, send }));
    return li;
  });
  if (isHost) {
    // People a host removed stay out until a host lets them back in.
    for (const person of removed) {
      const li = document.createElement('li');
      li.className = 'removed';
      li.append(who(t('people.removed', { name: person.name || person.identity }), '', person.identity !== person.name ? person.identity : ''),
        readmitButton(person, send));
      items.push(li);
    }
  }
  if (isHost) items.push(...invitedRows(invited, new Set(rows.filter((r) => r.identity).map((r) => String(r.identity).toLowerCase()))));
  document.getElementById('people-list').replaceChildren(...items);
  document.getElementById('people-count').textContent = formatNumber(rows.length);
}
