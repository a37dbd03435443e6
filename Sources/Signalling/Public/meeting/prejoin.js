// The pre-join screen: preview of the camera, choice of devices, the name to join with, and the page's language (the
// only place to change it: a change reloads the page, keeping the join token, which is in sessionStorage).

import { formatNumber, languagePicker, t } from '../lib/i18n.js';
import { tokenName, hasExpired } from '../lib/token.js';
import { log } from './log.js';
import { initials } from './names.js';
import { MESSAGES, showScreen } from './status.js';
import { deviceProblemText } from './local-media.js';

const $ = (id) => document.getElementById(id);

/**
 * Shows the pre-join screen for `local` (LocalMedia) and calls `onJoin(name)` with the name typed when the person
 * joins. `room` and `name` fill the title and the name field; `claims` are the token's.
 */
export function showPrejoin({ local, claims, room, name, token, onJoin }) {
  $('prejoin-title').textContent = t('prejoin.title', { room: room || t('prejoin.theMeeting') });
  languagePicker($('language-select'));
  const nameInput = $('name-input');
  nameInput.value = name;
  const linkName = tokenName(claims);
  if (linkName) {
    $('name-note').textContent = t('prejoin.nameNote', { name: linkName });
  }
  const update = () => { $('preview-avatar').querySelector('span').textContent = initials(nameInput.value); };
  nameInput.addEventListener('input', update);
  update();
  if (local.viewer) {
    $('camera-field').hidden = true;
    $('mic-field').hidden = true;
    $('preview-tile').hidden = true;
    $('prejoin-note').textContent = t('prejoin.viewerNote');
  } else {
    const onChange = () => startPreview(local, $('camera-select').value, $('mic-select').value);
    $('camera-select').addEventListener('change', onChange);
    $('mic-select').addEventListener('change', onChange);
    startPreview(local, '', '');
  }
  if (hasExpired(claims)) {
    $('prejoin-note').textContent = MESSAGES.expired;
    $('prejoin-note').className = 'error';
  }
  $('prejoin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('preview-video').srcObject = null;
    onJoin(nameInput.value.trim() || name);
  });
  showScreen('prejoin');
  nameInput.focus();
  if (room && token) tellIfRecorded(room, token);
}

// People about to join a recorded meeting are told before they join (the server says so for any link to the room).
async function tellIfRecorded(room, token) {
  try {
    const res = await fetch(`/api/rooms/${encodeURIComponent(room)}/notice`, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) return;
    const notice = await res.json();
    $('prejoin-recording').hidden = !notice.recording;
  } catch (err) {
    log(`recording notice not available: ${err.message}`);
  }
}

async function startPreview(local, cameraId, micId) {
  const errorEl = $('prejoin-media-error');
  errorEl.hidden = true;
  try {
    await local.acquire(cameraId, micId);
  } catch (err) {
    log(`getUserMedia failed: ${err.name} ${err.message}`);
    errorEl.textContent = deviceProblemText(err);
    errorEl.hidden = false;
  }
  $('preview-video').srcObject = local.hasVideo ? local.stream : null;
  $('preview-avatar').hidden = local.hasVideo;
  await fillDeviceLists(local);
}

async function fillDeviceLists(local) {
  let devices = [];
  try { devices = await navigator.mediaDevices.enumerateDevices(); } catch (_) { return; }
  const fill = (select, kind, current) => {
    const found = devices.filter((d) => d.kind === kind);
    select.replaceChildren(...found.map((d, i) => {
      const opt = document.createElement('option');
      opt.value = d.deviceId;
      opt.textContent = d.label || t(kind === 'videoinput' ? 'prejoin.cameraN' : 'prejoin.microphoneN', { n: formatNumber(i + 1) });
      opt.selected = d.deviceId === current;
      return opt;
    }));
    select.disabled = found.length === 0;
  };
  fill($('camera-select'), 'videoinput', local.deviceId('video'));
  fill($('mic-select'), 'audioinput', local.deviceId('audio'));
}
