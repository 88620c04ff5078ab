// Entry point: mounts the viewer on #pannusmap-viewer using its data-* attributes.

import './viewer.css';

import { ViewerApp } from './app.js';
import { pageLanguage, setLanguage, t } from './i18n.js';

function mount() {
  setLanguage(pageLanguage());
  const root = document.getElementById('pannusmap-viewer');
  if (!root) {
    console.error(t('missingMount'));
    return;
  }
  const { seriesId, mode, apiRoot, username, predictionId } = root.dataset;
  if (!seriesId) {
    root.textContent = t('missingSeriesId');
    return;
  }
  const app = new ViewerApp(root, {
    seriesId,
    mode: mode === 'review' ? 'review' : 'annotate',
    apiRoot: apiRoot || '/api/',
    username: username || '',
    predictionId: predictionId || null,
  });
  // Exposed for debugging and browser tests.
  window.pannusmapViewer = app;
  app.start();
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', mount);
} else {
  mount();
}
