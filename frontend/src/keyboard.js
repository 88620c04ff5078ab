// Keyboard bindings of the viewer. The help overlay (ui.js HELP_ROWS) lists the same keys.

const TOOL_KEYS = { f: 'roi', w: 'windowLevel', j: 'joint', p: 'probe' };

function isTextEntry(target) {
  if (!(target instanceof HTMLElement)) {
    return false;
  }
  if (target.isContentEditable || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT') {
    return true;
  }
  return target.tagName === 'INPUT' && target.type !== 'range' && target.type !== 'checkbox';
}

/** Keys that move through the series; they work whatever tool is chosen. */
function handleNavigation(app, event) {
  const steps = {
    ArrowUp: () => app.viewer.stepSlice(-1),
    ArrowDown: () => app.viewer.stepSlice(1),
    ArrowLeft: () => app.viewer.stepPhase(-1),
    ArrowRight: () => app.viewer.stepPhase(1),
  };
  const step = steps[event.key];
  if (!step) {
    return false;
  }
  step();
  return true;
}

function handleCommand(app, event) {
  const key = event.key;
  const ctrl = event.ctrlKey || event.metaKey;
  if (ctrl && key.toLowerCase() === 'z') {
    app.rois.undo();
    return true;
  }
  if (ctrl || event.altKey) {
    return false;
  }

  if (key === 'Delete' || key === 'Backspace') {
    app.rois.deleteSelected();
    return true;
  }
  if (key === 'Escape') {
    app.rois.clearSelection();
    return true;
  }

  const lower = key.toLowerCase();
  if (lower === 'r') {
    app.viewer.resetView();
    return true;
  }
  if (lower === 'o') {
    app.toggleOverlay();
    return true;
  }
  if (TOOL_KEYS[lower]) {
    app.chooseTool(TOOL_KEYS[lower]);
    return true;
  }

  if (/^[1-9]$/.test(key)) {
    const label = [...app.labels.keys()][Number(key) - 1];
    if (label) {
      app.chooseLabel(label);
    }
    return Boolean(label);
  }
  return false;
}

/** Install the document-level key handler for `app` (a ViewerApp). */
export function bindKeyboard(app) {
  document.addEventListener('keydown', (event) => {
    if (app.parts.jointDialog.isOpen() || isTextEntry(event.target)) {
      return;
    }
    if (event.key === '?') {
      app.toggleHelp();
      event.preventDefault();
      return;
    }
    if (!app.parts.help.hidden) {
      if (event.key === 'Escape') {
        app.toggleHelp(false);
        event.preventDefault();
      }
      return;
    }
    // preventDefault also keeps a focused range slider from moving on the arrow keys.
    if (handleNavigation(app, event) || handleCommand(app, event)) {
      event.preventDefault();
    }
  });
}
