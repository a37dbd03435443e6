// What a host may do to others from the People list (docs/protocol.md): mute a microphone, remove someone, and
// let a removed person back in. The server checks the role; the page only offers the buttons to hosts.

import { t } from '../lib/i18n.js';

function button(text, title, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', onClick);
  return b;
}

/**
 * The host's buttons for a participant in the list: Mute (while their microphone is on), Make co-host (for
 * participants who are not hosts or viewers) and Remove.
 */
export function participantActions({ id, name, audio, role, send }) {
  const actions = document.createElement('span');
  actions.className = 'host-actions';
  if (audio === 'on') {
    actions.append(button(t('host.mute'), t('host.muteName', { name }), 'small', () => send({ type: 'mute-participant', participant: id, kind: 'audio' })));
  }
  if (role === 'participant' || role === 'publisher') {
    actions.append(button(t('host.makeCohost'), t('host.makeCohostName', { name }), 'small make-host', () => {
      if (window.confirm(t('host.confirmCohost', { name }))) {
        send({ type: 'make-host', participant: id });
      }
    }));
  }
  actions.append(button(t('host.remove'), t('host.removeName', { name }), 'small', () => send({ type: 'remove', participant: id })));
  return actions;
}

/** The button that lets a removed person join again. */
export function readmitButton(person, send) {
  return button(t('host.letBack'), t('host.letBackName', { name: person.name || person.identity }), 'small readmit',
    () => send({ type: 'readmit', identity: person.identity }));
}
