// JSON and binary requests to the PannusMap REST API (session cookie + CSRF header).

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the request never reached the server
   * @param {string} detail server message (`detail`, or field messages joined)
   * @param {string} code server error code, '' when absent
   */
  constructor(status, detail, code = '') {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.code = code;
  }
}

function readCookie(name) {
  const prefix = `${name}=`;
  for (const part of document.cookie.split(';')) {
    const item = part.trim();
    if (item.startsWith(prefix)) {
      return decodeURIComponent(item.slice(prefix.length));
    }
  }
  return '';
}

/** Flatten DRF error bodies: {"detail": ...} or {"field": ["message", ...]}. */
function describeErrorBody(body, fallback) {
  if (!body || typeof body !== 'object') {
    return fallback;
  }
  if (typeof body.detail === 'string') {
    return body.detail;
  }
  const parts = [];
  for (const [field, messages] of Object.entries(body)) {
    if (field === 'code') {
      continue;
    }
    const text = Array.isArray(messages) ? messages.join(' ') : String(messages);
    parts.push(`${field}: ${text}`);
  }
  return parts.length ? parts.join('; ') : fallback;
}

async function raiseForStatus(response) {
  if (response.ok) {
    return;
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const fallback = `${response.status} ${response.statusText}`.trim();
  throw new ApiError(response.status, describeErrorBody(body, fallback), body?.code ?? '');
}

export class ApiClient {
  /** @param {string} root API prefix ending in '/', e.g. '/api/' */
  constructor(root) {
    this.root = root.endsWith('/') ? root : `${root}/`;
  }

  url(path) {
    return `${this.root}${path}`;
  }

  async request(method, path, { body, ifMatch, accept = 'application/json', signal } = {}) {
    const headers = { Accept: accept };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    if (method !== 'GET') {
      headers['X-CSRFToken'] = readCookie('csrftoken');
    }
    if (ifMatch !== undefined) {
      headers['If-Match'] = `"${ifMatch}"`;
    }
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (error.name === 'AbortError') {
        throw error;
      }
      throw new ApiError(0, error.message);
    }
    await raiseForStatus(response);
    return response;
  }

  async getJson(path, options) {
    const response = await this.request('GET', path, options);
    return response.json();
  }

  async sendJson(method, path, body, options = {}) {
    const response = await this.request(method, path, { ...options, body });
    if (response.status === 204) {
      return null;
    }
    return response.json();
  }

  async getBinary(path, options = {}) {
    // '*/*' as well, because DRF content negotiation answers 406 when no JSON renderer matches.
    const response = await this.request('GET', path, {
      ...options,
      accept: 'application/octet-stream, */*;q=0.1',
    });
    return response.arrayBuffer();
  }
}
