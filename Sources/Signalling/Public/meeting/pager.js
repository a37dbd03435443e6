// Above the grid in a large meeting: the switch between the grid and the speaker view, and the previous and next
// page of tiles. The grid (tiles.js) decides what each page shows; this draws the controls from what it reports.

import { formatNumber, t } from '../lib/i18n.js';

const $ = (id) => document.getElementById(id);

/** The switch is offered from this many tiles on (ours included): with two there is nothing to arrange. */
const VIEW_SWITCH_FROM_TILES = 3;

export class Pager {
  /** `grid`: the Grid whose view and page the buttons change. */
  constructor({ grid }) {
    this.grid = grid;
  }

  wire() {
    $('view-button').addEventListener('click', () => this.grid.setView(this.grid.view === 'speaker' ? 'grid' : 'speaker'));
    $('page-prev').addEventListener('click', () => this.grid.turnPage(-1));
    $('page-next').addEventListener('click', () => this.grid.turnPage(1));
  }

  /** Redraws from the grid's `{view, page, pages, tiles}` (its onPaged). */
  draw({ view, page, pages, tiles }) {
    const speaker = view === 'speaker';
    $('tile-pager').hidden = tiles < VIEW_SWITCH_FROM_TILES;
    const viewButton = $('view-button');
    // A toggle keeps its name; pressed means the speaker view is on (screen readers say so).
    viewButton.setAttribute('aria-pressed', String(speaker));
    viewButton.title = speaker ? t('tiles.backToGrid') : t('tiles.showSpeaker');
    const paged = pages > 1;
    for (const id of ['page-prev', 'page-label', 'page-next']) $(id).hidden = !paged;
    $('page-prev').disabled = page === 0;
    $('page-next').disabled = page >= pages - 1;
    $('page-label').textContent = t('tiles.page', { page: formatNumber(page + 1), pages: formatNumber(pages) });
  }
}
