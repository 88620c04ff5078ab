// Per-joint summary table of the shown TIC analysis; a click on a row picks that joint.

import { formatNumber, t } from './i18n.js';
import { el } from './ui.js';

/** Columns: header key, tooltip key, and the cell text of one joint summary. */
const COLUMNS = [
  ['jointColJoint', null, (joint) => `${joint.name} ${joint.side}`],
  ['jointColVolume', 'jointColVolumeTitle', (joint) => number(joint.region_volume_mm3, 0)],
  ['jointColType4', 'jointColType4Title', (joint) => number(percent(joint.type4_fraction), 1)],
  ['jointColSynovitis', 'jointColSynovitisTitle', (joint) => number(joint.synovitis_volume_mm3, 1)],
  ['jointColMe', 'jointColMeTitle', (joint) => number(joint.mean_me, 0)],
  ['jointColIre', 'jointColIreTitle', (joint) => number(joint.mean_ire, 0)],
  ['jointColTtp', 'jointColTtpTitle', (joint) => number(joint.mean_ttp, 0)],
  ['jointColArteries', 'jointColArteriesTitle', (joint) => String(joint.arterial_voxels_removed ?? '–')],
];

function percent(fraction) {
  return fraction === null || fraction === undefined ? null : fraction * 100;
}

/** Formatted number, or an en dash for values the server left null (no enhancing voxel). */
function number(value, digits) {
  return Number.isFinite(value) ? formatNumber(value, digits) : '–';
}

export class JointTable {
  /** @param {(summary: object) => void} onPick called with the clicked joint's summary */
  constructor(onPick) {
    this.onPick = onPick;
    this.body = el('tbody');
    this.empty = el('p', { class: 'pm-empty' }, t('jointTableEmpty'));
    const header = COLUMNS.map(([key, title]) =>
      el('th', { scope: 'col', title: title ? t(title) : undefined }, t(key)),
    );
    this.table = el('table', { class: 'pm-joint-table' }, el('thead', {}, el('tr', {}, ...header)), this.body);
    this.element = el('div', { class: 'pm-joint-table-box' }, this.table, this.empty);
    this.selectedId = null;
  }

  /** @param {object[]} joints `results.joints` of the shown analysis */
  show(joints) {
    const rows = (joints ?? []).map((joint) => this.row(joint));
    this.body.replaceChildren(...rows);
    this.table.hidden = !rows.length;
    this.empty.hidden = Boolean(rows.length);
  }

  row(joint) {
    const cells = COLUMNS.map(([, , text], index) =>
      el(index === 0 ? 'th' : 'td', index === 0 ? { scope: 'row' } : {}, text(joint)),
    );
    const row = el('tr', {
      tabindex: '0',
      'data-joint-id': joint.joint_id,
      'aria-selected': String(joint.joint_id === this.selectedId),
      title: t('jointRowTitle'),
    }, ...cells);
    const pick = () => {
      this.selectedId = joint.joint_id;
      for (const other of this.body.children) {
        other.setAttribute('aria-selected', String(other === row));
      }
      this.onPick(joint);
    };
    row.addEventListener('click', pick);
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        pick();
      }
    });
    return row;
  }
}
