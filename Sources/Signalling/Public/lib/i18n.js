// The pages' languages: English, Hindi and Odia, one table each (lang/en.js, lang/hi.js, lang/or.js). The language
// is `?lang=` when given (the invitation links carry the attendee's), else the one chosen on this device, else the
// browser's first of the three, else English. Text in HTML carries data-i18n="key" (and data-i18n-attr=
// "aria-label:key;title:key;placeholder:key"); scripts call t('key', {name}). Dates and numbers follow the locale.

import en from '../lang/en.js';
import hi from '../lang/hi.js';
import or from '../lang/or.js';

export const TABLES = { en, hi, or };
export const LANGUAGE_NAMES = { en: 'English', hi: 'हिन्दी', or: 'ଓଡ଼ିଆ' };
const LOCALES = { en: 'en-IN', hi: 'hi-IN', or: 'or-IN' };
const STORAGE_KEY = 'sabha.lang';

function known(code) {
  if (!code) return null;
  const base = String(code).toLowerCase().split(/[-_]/)[0];
  const name = base === 'od' ? 'or' : base;
  return Object.prototype.hasOwnProperty.call(TABLES, name) ? name : null;
}

function choose() {
  const asked = known(new URLSearchParams(location.search).get('lang'));
  if (asked) {
    try { localStorage.setItem(STORAGE_KEY, asked); } catch (_) { /* private mode */ }
    return asked;
  }
  let stored = null;
  try { stored = known(localStorage.getItem(STORAGE_KEY)); } catch (_) { /* private mode */ }
  if (stored) return stored;
  for (const code of navigator.languages || [navigator.language]) {
    const found = known(code);
    if (found) return found;
  }
  return 'en';
}

export const language = choose();
export const locale = LOCALES[language];
document.documentElement.lang = language;

/** The text for `key` in the page's language (English when a table lacks it), with {name} filled from `params`. */
export function t(key, params = {}) {
  const text = TABLES[language][key] ?? en[key];
  if (text === undefined) {
    console.warn(`i18n: no text for ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Fills every [data-i18n] element's text and [data-i18n-attr] element's attributes under `root`. */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
  const title = document.querySelector('title[data-i18n]');
  if (title) document.title = title.textContent;
}

/** A whole number in the page's locale. */
export function formatNumber(n) {
  return new Intl.NumberFormat(locale).format(n);
}

/** A time of day ("10:05") in the page's locale. */
export function formatTime(date) {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(date);
}

/**
 * Fills a <select> with the three languages and reloads the page in the one chosen (kept on this device; the
 * page's other query parameters, such as the join token, are kept).
 */
export function languagePicker(select) {
  if (!select) return;
  select.textContent = '';
  for (const [code, name] of Object.entries(LANGUAGE_NAMES)) {
    const option = document.createElement('option');
    option.value = code;
    option.lang = code;
    option.textContent = name;
    option.selected = code === language;
    select.append(option);
  }
  select.addEventListener('change', () => {
    try { localStorage.setItem(STORAGE_KEY, select.value); } catch (_) { /* private mode */ }
    const url = new URL(location.href);
    url.searchParams.set('lang', select.value);
    location.replace(url.toString());
  });
}
