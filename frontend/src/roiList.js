// ROI list of the side panel: one row per saved ROI, sorted by slice.

import { t } from './i18n.js';
import { el } from './ui.js';

function roiListItem(roi, rois, currentSlice, onClick) {
  const swatch = el('span', { class: 'pm-swatch' });
  swatch.style.background = rois.labelColor(roi.label);
  const tags = [t('roiAuthor', { author: roi.author })];
  if (roi.is_generated) {
    tags.push(t('roiGenerated'));
  }
  if (!roi.editable) {
    tags.push(t('roiLocked'));
  }
  const item = el(
    'li',
    {
      role: 'option',
      'aria-selected': String(rois.selected.has(roi.id)),
      title: t('roiItemTitle'),
      class: roi.slice_index === currentSlice ? 'pm-current-slice' : null,
      dataset: { roiId: roi.id },
    },
    swatch,
    t('roiItem', { id: roi.id, label: rois.labelDisplay(roi.label), slice: roi.slice_index + 1 }),
    el('small', {}, ` ${tags.join(' · ')}`),
  );
  item.addEventListener('click', (event) => onClick(roi, event));
  return item;
}

/**
 * Fill `listElement` with the ROIs of `rois` (a RoiManager); rows of `currentSlice` are marked.
 * @param {(roi: object, event: MouseEvent) => void} onClick called when a row is clicked
 */
export function renderRoiList(listElement, rois, currentSlice, onClick) {
  const items = rois.sortedRois().map((roi) => roiListItem(roi, rois, currentSlice, onClick));
  if (!items.length) {
    items.push(el('li', { class: 'pm-empty' }, t('roiPanelEmpty')));
  }
  listElement.replaceChildren(...items);
}
