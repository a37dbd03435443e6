// Phones: while the page is hidden (another app in front, the screen locked) our camera sends nothing, and others
// see it as off; when the page is shown again it resumes, unless the person turned it off meanwhile.

import { log } from './log.js';

/** `local`: LocalMedia; `send(msg)`: the socket's send; `onChange()`: our tile and the People list redraw. */
export function pauseCameraWhileHidden({ local, send, onChange }) {
  const apply = () => {
    const hidden = document.hidden;
    if (!local.setPaused(hidden)) return;
    log(`page ${hidden ? 'hidden: camera paused' : 'shown: camera resumed'}`);
    if (!local.camMuted) send({ type: 'mute', kind: 'video', muted: hidden });
    onChange();
  };
  document.addEventListener('visibilitychange', apply);
  return apply;
}
