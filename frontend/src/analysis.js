// TIC analyses of the series: the list from the server, the one shown, polling while one runs,
// recompute requests and cached layer slices.
//
// Layer slices are R*C little-endian arrays: float32 maps (NaN where undefined) and uint8
// shape types or masks, per slice and shared by all phases.

export const PENDING_STATUSES = ['queued', 'running'];
const DONE = 'done';
const POLL_INTERVAL_MS = 3000;
const MAX_CACHED_SLICES = 96;

export class AnalysisSource {
  /**
   * @param {import('./api.js').ApiClient} client
   * @param {object} series series JSON
   */
  constructor(client, series) {
    this.client = client;
    this.series = series;
    this.analyses = [];
    /** The analysis whose results and layers are shown (status done), or null. */
    this.current = null;
    /** Id of an analysis the user requested; it is shown as soon as it is done. */
    this.awaitedId = null;
    /** Id of the analysis the user last requested and got; it stays shown while it exists. */
    this.chosenId = null;
    this.cache = new Map();
    this.pollTimer = null;
    this.listeners = { change: [], error: [] };
  }

  on(event, callback) {
    this.listeners[event].push(callback);
  }

  emit(event, ...args) {
    for (const callback of this.listeners[event]) {
      callback(...args);
    }
  }

  /** Fetch the list, choose the analysis to show, and poll again while one is pending. */
  async load() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
    try {
      this.analyses = await this.client.getJson(`series/${this.series.id}/analyses/`);
    } catch (error) {
      this.emit('error', 'actionLoadAnalyses', error);
      // Keep waiting for a pending analysis through a passing network or server error.
      if (this.pending()) {
        this.pollTimer = setTimeout(() => this.load(), POLL_INTERVAL_MS);
      }
      return;
    }
    const previous = this.current;
    this.current = this.chooseCurrent();
    if (this.current?.id !== previous?.id) {
      this.cache.clear();
    }
    if (this.pending()) {
      this.pollTimer = setTimeout(() => this.load(), POLL_INTERVAL_MS);
    }
    this.emit('change', this.current, previous);
  }

  chooseCurrent() {
    const awaited = this.analyses.find((item) => item.id === this.awaitedId);
    if (awaited && awaited.status === DONE) {
      this.awaitedId = null;
      this.chosenId = awaited.id;
    }
    const done = this.analyses.filter((item) => item.status === DONE);
    return done.find((item) => item.id === this.chosenId) ?? done[0] ?? null;
  }

  /** Return the analysis the status line reports on: the awaited one, else the newest. */
  latest() {
    return this.analyses.find((item) => item.id === this.awaitedId) ?? this.analyses[0] ?? null;
  }

  pending() {
    return this.analyses.some((item) => PENDING_STATUSES.includes(item.status));
  }

  layer(name) {
    return this.current?.layers.find((layer) => layer.name === name) ?? null;
  }

  /** POST new parameters; resolves to the analysis (queued, or done when it existed). */
  async recompute(parameters) {
    const analysis = await this.client.sendJson('POST', `series/${this.series.id}/analyses/`, {
      parameters,
    });
    this.awaitedId = analysis.id;
    await this.load();
    return analysis;
  }

  /** Typed array of one layer slice of the current analysis (cached). */
  fetchSlice(name, slice) {
    const analysis = this.current;
    const key = `${analysis.id}:${name}:${slice}`;
    if (!this.cache.has(key)) {
      if (this.cache.size >= MAX_CACHED_SLICES) {
        this.cache.delete(this.cache.keys().next().value);
      }
      const isMap = this.layer(name)?.kind === 'map';
      const request = this.client
        .getBinary(`analyses/${analysis.id}/layers/${name}/${slice}/`)
        .then((buffer) => (isMap ? new Float32Array(buffer) : new Uint8Array(buffer)));
      this.cache.set(key, request);
      request.catch(() => this.cache.delete(key));
    }
    return this.cache.get(key);
  }

  /**
   * Shape type and every map value at one pixel of the current analysis.
   * @returns {Promise<{shapeType: number|null, values: Array<{name, unit, value}>}|null>}
   */
  async pixelValues(slice, row, column) {
    if (!this.current) {
      return null;
    }
    const columns = this.series.shape[3];
    const index = row * columns + column;
    const maps = this.current.layers.filter((layer) => layer.kind === 'map');
    const [types, ...mapSlices] = await Promise.all([
      this.fetchSlice('shape_types', slice),
      ...maps.map((layer) => this.fetchSlice(layer.name, slice)),
    ]);
    return {
      shapeType: types[index],
      values: maps.map((layer, i) => ({ name: layer.name, unit: layer.unit, value: mapSlices[i][index] })),
    };
  }
}
