// The user guide, inside the app window and without a network.
//
// - The guide ships in ui/guide/<lang>.html (rendered from docs/guide/<lang>.md by
//   `cargo xtask guide`), with its screenshots in ui/guide/img/ and a PDF beside it for
//   printing. It is read from the app's own origin (the CSP allows 'self' in
//   connect-src and img-src); a language without a guide gets the English one, and says
//   so.
// - The page is parsed as HTML (it is our own file, never record text), and only its
//   <main id="guide"> is rebuilt here, node by node, from a short list of elements and
//   attributes: links only to its own sections, images only from guide/img/. Nothing
//   active, no style attribute, no outside address can come through.
// - Reachable from the header (#nav-guide, also while the vault is locked: it holds no
//   record); #guide-back returns to the screen it was opened from.
//
// Ids: #screen-guide (data-lang: the guide's language), #guide-back, #guide-fallback
// (shown when the guide is in English instead of the UI's language), #guide-pdf,
// #guide-error, #guide-content.

import { h } from '../dom.js';
import { t, lang } from '../i18n.js';

/** The languages the guide is written in. */
export const GUIDE_LANGUAGES = ['en', 'ar', 'fa', 'es', 'fr'];
const RTL = new Set(['ar', 'fa']);

const ELEMENTS = new Set(['h1', 'h2', 'h3', 'h4', 'p', 'ol', 'ul', 'li', 'strong', 'em', 'code',
  'a', 'img', 'nav', 'blockquote', 'pre', 'br', 'hr']);

/** Reads and parses the guide of `code`; → its <main id="guide"> or null. */
async function read(code) {
  const url = new URL(`../../guide/${code}.html`, import.meta.url);
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) return null;
  const page = new DOMParser().parseFromString(await response.text(), 'text/html');
  return page.getElementById('guide');
}

/** A clean copy of a parsed node: allowed elements and attributes only. */
function rebuild(node, content) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const tag = node.localName;
  const children = [...node.childNodes].map((c) => rebuild(c, content)).filter(Boolean);
  if (!ELEMENTS.has(tag)) return children.length ? h('span', {}, children) : null;
  const attrs = {};
  const id = node.getAttribute('id');
  if (id && /^[a-z0-9-]+$/.test(id)) attrs.id = `guide-${id}`;
  if (tag === 'ol' && /^\d+$/.test(node.getAttribute('start') || '')) attrs.start = node.getAttribute('start');
  if (tag === 'img') {
    const src = node.getAttribute('src') || '';
    if (!/^img\/[A-Za-z0-9._-]+\.png$/.test(src)) return null;
    attrs.src = new URL(`../../guide/${src}`, import.meta.url).pathname;
    attrs.alt = node.getAttribute('alt') || '';
  }
  if (tag === 'a') {
    const href = node.getAttribute('href') || '';
    if (!/^#[a-z0-9-]+$/.test(href)) return h('span', {}, children);
    const target = `guide-${href.slice(1)}`;
    return h('a', {
      attrs: { href: `#${target}` },
      on: {
        click: (e) => {
          e.preventDefault();
          content.querySelector(`#${target}`)?.scrollIntoView({ block: 'start' });
        },
      },
    }, children);
  }
  return h(tag, { attrs }, children);
}

export async function render(app, params = {}) {
  const wanted = lang();
  let code = GUIDE_LANGUAGES.includes(wanted) ? wanted : 'en';
  let parsed = null;
  try {
    parsed = await read(code);
    if (!parsed && code !== 'en') {
      code = 'en';
      parsed = await read(code);
    }
  } catch {
    parsed = null;
  }
  const back = params.back || { name: 'cases', params: {} };
  const content = h('article', {
    id: 'guide-content', class: 'guide',
    attrs: { lang: code, dir: RTL.has(code) ? 'rtl' : 'ltr' },
  });
  if (parsed) {
    for (const child of [...parsed.childNodes]) {
      const node = rebuild(child, content);
      if (node) content.append(node);
    }
  }
  const el = h('section', { class: 'screen guide-screen', id: 'screen-guide', data: { lang: code } },
    h('div', { class: 'screen-head' },
      h('button', {
        type: 'button', id: 'guide-back', class: 'button secondary', text: t('guide.back'),
        on: { click: () => app.navigate(back.name, back.params || {}) },
      })),
    h('p', { id: 'guide-fallback', class: 'hint', hidden: code === wanted, text: t('guide.english') }),
    h('p', { id: 'guide-pdf', class: 'hint', text: t('guide.pdf', { path: `ui/guide/${code}.pdf` }) }),
    parsed
      ? content
      : h('p', { id: 'guide-error', class: 'form-error', attrs: { role: 'alert' }, text: t('guide.unavailable') }));
  return { el, focus: el.querySelector('h1') || el.querySelector('#guide-back') };
}
