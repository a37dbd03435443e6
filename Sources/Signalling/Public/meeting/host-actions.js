// What a host may do to others from the People list (docs/protocol.md): mute a microphone, remove someone, and
// let a removed person back in. The server checks the role; the page only offers the buttons to hosts.

function button(text, title, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

/** The host's buttons for a participant in the list: Mute (while their microphone is on) and Remove. */
export function participantActions({ id, name, audio, send }) {
  const actions = document.createElement('span');
  actions.className = 'host-actions';
  if (audio === 'on') {
    actions.append(button('Mute', `Mute ${name}`, 'small', () => send({ type: 'mute-participant', participant: id, kind: 'audio' })));
  }
  actions.append(button('Remove', `Remove ${name} from the meeting`, 'small', () => send({ type: 'remove', participant: id })));
  return actions;
}

/** The button that lets a removed person join again. */
export function readmitButton(person, send) {
  return button('Let back in', `Let ${person.name || person.identity} join again`, 'small readmit',
    () => send({ type: 'readmit', identity: person.identity }));
}
