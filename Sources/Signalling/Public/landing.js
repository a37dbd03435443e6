// Sabha landing page: where to get a link, and for administrators a small room and join-link console over
// the admin API (/api, Authorization: Bearer <admin key>). No framework, no build step. Its text is in lang/*.js.

import { formatNumber, languagePicker, t, translatePage } from './lib/i18n.js';

translatePage();
languagePicker(document.getElementById('language-select'));
{
  const $ = (id) => document.getElementById(id);
  let key = sessionStorage.getItem('sabha-admin-key') || '';
  let currentRoom = null;

  function show(el, text) {
    el.textContent = text || '';
    el.hidden = !text;
  }

  // --- join by pasted link ---
  $('open-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    let url;
    try {
      url = new URL($('open-link').value.trim(), location.href);
    } catch (_) {
      show($('open-error'), t('landing.notALink'));
      return;
    }
    // Only links to this server are opened: a pasted link is never a way to send someone elsewhere.
    if (url.origin !== location.origin) {
      show($('open-error'), t('landing.otherServer', { where: url.protocol === 'http:' || url.protocol === 'https:' ? url.host : t('landing.notAWebPage'), here: location.host }));
      return;
    }
    if (!/^\/m\/[^/]+$/.test(url.pathname) || !url.searchParams.get('t')) {
      show($('open-error'), t('landing.notAMeetingLink'));
      return;
    }
    location.assign(url.pathname + url.search);
  });

  // --- admin console ---
  async function api(method, path, body) {
    const resp = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!resp.ok) {
      const reason = (data && (data.detail || data.title)) || `HTTP ${resp.status}`;
      const err = new Error(reason);
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  async function refreshRooms() {
    const rooms = await api('GET', '/api/rooms');
    const list = $('rooms');
    list.textContent = '';
    for (const room of rooms || []) {
      const li = document.createElement('li');
      li.dataset.room = room.name;
      const label = document.createElement('span');
      label.id = `room-${list.children.length}`;   // names the room for the buttons after it (screen readers)
      label.textContent = `${room.title ? room.title + ' — ' : ''}${room.name} · ${t('landing.inMeeting', { count: formatNumber(room.participants || 0) })}${room.endedAt ? ` · ${t('landing.ended')}` : ''}`;
      const links = document.createElement('button');
      links.type = 'button';
      links.className = 'room-links';
      links.textContent = t('landing.joinLinks');
      links.addEventListener('click', () => openLinks(room.name));
      const end = document.createElement('button');
      end.type = 'button';
      end.className = 'room-end';
      end.textContent = t('landing.endMeeting');
      end.addEventListener('click', async () => {
        if (!window.confirm(t('landing.confirmEnd', { room: room.name }))) return;
        try {
          await api('DELETE', `/api/rooms/${encodeURIComponent(room.name)}`);
          await refreshRooms();
        } catch (err) {
          show($('admin-error'), t('landing.endFailed', { reason: err.message }));
        }
      });
      links.setAttribute('aria-describedby', label.id);
      end.setAttribute('aria-describedby', label.id);
      li.append(label, ' ', links, ' ', end);
      list.append(li);
    }
  }

  function openLinks(room) {
    currentRoom = room;
    $('links-room').textContent = room;
    $('links').textContent = '';
    $('links-panel').hidden = false;
    $('link-identity').focus();
  }

  async function unlock() {
    show($('admin-error'), '');
    try {
      await refreshRooms();
      sessionStorage.setItem('sabha-admin-key', key);
      $('admin').hidden = false;
    } catch (err) {
      $('admin').hidden = true;
      sessionStorage.removeItem('sabha-admin-key');
      show($('admin-error'), err.status === 401 ? t('landing.keyRefused') : t('landing.unreachable', { reason: err.message }));
    }
  }

  $('admin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    key = $('admin-key').value.trim();
    unlock();
  });

  $('room-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    if ($('room-name').value.trim()) body.name = $('room-name').value.trim();
    if ($('room-title').value.trim()) body.title = $('room-title').value.trim();
    try {
      const room = await api('POST', '/api/rooms', body);
      show($('admin-error'), '');
      $('room-name').value = '';
      $('room-title').value = '';
      await refreshRooms();
      openLinks(room.name);
    } catch (err) {
      show($('admin-error'), t('landing.createFailed', { reason: err.message }));
    }
  });

  $('link-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!currentRoom) return;
    const person = { identity: $('link-identity').value.trim(), role: $('link-role').value };
    if ($('link-name').value.trim()) person.name = $('link-name').value.trim();
    try {
      const result = await api('POST', `/api/rooms/${encodeURIComponent(currentRoom)}/links`, { participants: [person] });
      for (const link of result.links || []) {
        const li = document.createElement('li');
        li.dataset.identity = link.identity;
        const who = document.createElement('span');
        who.textContent = `${link.identity} (${t(`role.${link.role}`)})`;
        const field = document.createElement('input');
        field.className = 'link-url';
        field.readOnly = true;
        field.value = link.url;
        field.setAttribute('aria-label', t('landing.linkFor', { who: link.identity }));
        const copy = document.createElement('button');
        copy.type = 'button';
        copy.textContent = t('landing.copy');
        copy.setAttribute('aria-label', t('landing.copyLinkFor', { who: link.identity }));
        copy.addEventListener('click', async () => {
          field.select();
          try { await navigator.clipboard.writeText(link.url); copy.textContent = t('landing.copied'); } catch (_) { document.execCommand('copy'); }
        });
        li.append(who, ' ', field, ' ', copy);
        $('links').append(li);
      }
      $('link-identity').value = '';
      $('link-name').value = '';
      show($('admin-error'), '');
    } catch (err) {
      show($('admin-error'), t('landing.linkFailed', { reason: err.message }));
    }
  });

  if (key) {
    $('admin-key').value = key;
    unlock();
  }
}
