// What a screen reader says without moving the focus: joins and leaves now, raised hands and chat later. One
// polite live region (`#announcer` in meeting.html, outside the screens so it is never display:none); each
// announcement is a new child of it, so two in quick succession are both read, and the same words twice are read
// twice. A child is removed after a while, so the region stays small. Sighted people see these things elsewhere
// (the grid, the People list): the region is visually hidden.
//
//   import { announce } from './announcer.js';
//   announce(t('announce.hand', { name }));

const KEEP_MS = 15000;   // long enough for a screen reader to have read it after what it was reading
const MAX_KEPT = 5;

/** Queues `text` for screen readers (polite: after what they are reading). Empty text is ignored. */
export function announce(text) {
  const region = document.getElementById('announcer');
  const words = String(text || '').trim();
  if (!region || !words) return;
  const line = document.createElement('p');
  line.textContent = words;
  region.append(line);
  while (region.children.length > MAX_KEPT) region.firstElementChild.remove();
  setTimeout(() => line.remove(), KEEP_MS);
}
