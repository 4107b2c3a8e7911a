// The console's only data source: the public /v1 API with the bearer key the operator signed
// in with. The key lives in sessionStorage (gone when the tab closes), never in localStorage.

const KEY = 'callplane.apiKey';

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function signIn(key) {
  sessionStorage.setItem(KEY, key);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function request(method, path, params, body, accept = 'json') {
  const headers = {};
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(`/v1${path}${query(params)}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 0, `network error: ${e.message}`);
  }
  if (res.status === 401) window.dispatchEvent(new Event('callplane:unauthorized'));
  if (accept === 'text' && res.ok) return res.text();
  let env;
  try {
    env = await res.json();
  } catch {
    throw new ApiError(res.status, 0, `HTTP ${res.status}`);
  }
  if (env.code !== 0) throw new ApiError(res.status, env.code, env.message);
  return env.data;
}

export const get = (path, params) => request('GET', path, params);
export const getText = (path, params) => request('GET', path, params, undefined, 'text');
export const post = (path, body) => request('POST', path, undefined, body);
