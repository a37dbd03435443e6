// A page's human-readable log, for tests (they read it through the page's debug object) and for support:
// newest last, at most `limit` lines, each also on the console under `[tag]`.

/** Returns `{ events, log }`: the array of lines and the function that appends one. */
export function createEventLog(tag, limit) {
  const events = [];
  const log = (message) => {
    events.push(`${new Date().toISOString()} ${message}`);
    if (events.length > limit) events.shift();
    console.log(`[${tag}] ${message}`);
  };
  return { events, log };
}
