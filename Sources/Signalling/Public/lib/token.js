// The join token in the page: taken out of the address bar at once, and its claims read for display.
// The token is the person's key to the meeting: it must not stay in the address bar (history, screenshots, a link
// copied from there) nor go out in a Referer. It is kept for this tab only (sessionStorage), so a reload or
// "Join again" still works. The server is the one that checks it; the page only shows what it says.

/**
 * The token from `query` (its `t=` parameter, else the one this tab kept under `storageKey`). Removes `t=` from
 * the address bar with history.replaceState. Returns '' when there is none.
 */
export function takeToken(query, storageKey) {
  const fromLink = query.get('t');
  let kept = null;
  try {
    if (fromLink) sessionStorage.setItem(storageKey, fromLink);
    kept = sessionStorage.getItem(storageKey);
  } catch (_) { /* storage off: the token lives in this page only */ }
  if (fromLink) {
    const rest = new URLSearchParams(query);
    rest.delete('t');
    const search = rest.toString();
    history.replaceState(history.state, '', location.pathname + (search ? `?${search}` : '') + location.hash);
  }
  return fromLink || kept || '';
}

/**
 * The JWT's claims, or null when it is not a readable JWT. The payload is base64url of UTF-8 JSON: it is decoded
 * as bytes, so names in Devanagari, Odia or any other script come out as written (atob alone gives one character
 * per byte).
 */
export function decodeTokenClaims(jwt) {
  try {
    const part = jwt.split('.')[1];
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (_) {
    return null;
  }
}

/** Whether the claims' `exp` has passed (by this device's clock: a hint for the person, not a check). */
export function hasExpired(claims) {
  return !!claims && typeof claims.exp === 'number' && claims.exp * 1000 < Date.now();
}

/** The name others see for this token: its `name`, else its identity (`sub`); '' when it has neither. */
export function tokenName(claims) {
  return (claims && (claims.name || claims.sub)) || '';
}
