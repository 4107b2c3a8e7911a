// UI language: Chinese or English. The default follows the browser's preferred languages
// (the first zh* or en* entry wins); the operator's choice is kept in localStorage.

import en from './lang_en.js';
import zh from './lang_zh.js';

const DICTS = { en, 'zh-CN': zh };
const STORE = 'callplane.lang';
export const LANGS = [['zh-CN', '中文'], ['en', 'English']];

function detect() {
  const saved = localStorage.getItem(STORE);
  if (saved && DICTS[saved]) return saved;
  const prefs = navigator.languages && navigator.languages.length
    ? navigator.languages : [navigator.language || 'en'];
  for (const l of prefs) {
    if (/^zh\b/i.test(l)) return 'zh-CN';
    if (/^en\b/i.test(l)) return 'en';
  }
  return 'en';
}

let current = detect();

export function lang() {
  return current;
}

export function setLang(l) {
  if (!DICTS[l]) return;
  current = l;
  localStorage.setItem(STORE, l);
  document.documentElement.lang = l;
}

/** The text for `key` with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  const text = DICTS[current][key] ?? en[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : text;
}

document.documentElement.lang = current;
