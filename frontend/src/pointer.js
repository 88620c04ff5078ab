// Mouse handling outside Cornerstone's tools: the pixel probe and click selection of ROIs.

// A press whose pointer stays within this distance (CSS px) counts as a click, not a drag.
const CLICK_TOLERANCE_PX = 4;

/** Canvas position (CSS px relative to the viewport element) of a mouse event. */
export function canvasPoint(element, event) {
  const rect = element.getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}

/**
 * Shift+click (any tool) or a click with the probe tool plots a pixel; other clicks select an ROI.
 * @param {import('./app.js').ViewerApp} app
 */
export function bindPointer(app) {
  const element = app.viewer.element;
  let pressed = null;

  // Listening on the parent in the capture phase runs before Cornerstone's listeners.
  element.parentElement.addEventListener(
    'mousedown',
    (event) => {
      pressed = null;
      if (event.button !== 0) {
        return;
      }
      if (event.shiftKey || app.viewer.primaryTool === 'probe') {
        // Keep Cornerstone tools from starting a drawing or a hole on this press.
        event.stopPropagation();
        event.preventDefault();
        app.probe(canvasPoint(element, event));
        return;
      }
      pressed = { x: event.clientX, y: event.clientY, moved: 0 };
      pressed.additive = event.ctrlKey || event.metaKey;
    },
    { capture: true },
  );

  // The farthest distance from the press point, so a drawn loop back to its start is no click.
  window.addEventListener('mousemove', (event) => {
    if (pressed) {
      const distance = Math.hypot(event.clientX - pressed.x, event.clientY - pressed.y);
      pressed.moved = Math.max(pressed.moved, distance);
    }
  });

  window.addEventListener('mouseup', (event) => {
    if (!pressed || event.button !== 0) {
      return;
    }
    const { moved, additive } = pressed;
    pressed = null;
    // Ctrl+drag zooms, so a Ctrl+click on the image does not change the selection.
    if (moved <= CLICK_TOLERANCE_PX && !additive) {
      app.selectAt(canvasPoint(element, event));
    }
  });
}
