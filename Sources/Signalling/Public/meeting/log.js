// The meeting page's event log (window.sabhaMeeting.events): one for the page, so every part writes to it.

import { createEventLog } from '../lib/event-log.js';

export const { events, log } = createEventLog('meeting', 300);
