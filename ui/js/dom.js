// Building DOM nodes without HTML strings.
//
// Record text is never passed through innerHTML: every node is created here and every
// text goes in as a text node, so a title such as "<img onerror=…>" stays text. Styles
// are set through classes only (the CSP refuses style attributes from markup).

/**
 * Creates an element.
 *
 * props: id, class (string or array), testid (→ data-testid), text, attrs (any
 * attribute), data (dataset), on ({event: handler}), and the properties value,
 * checked, disabled, hidden, selected, type, name, htmlFor, multiple, required,
 * readOnly. Children may be nodes, strings, numbers, arrays, or null (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    switch (key) {
      case 'class':
        el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value || '';
        break;
      case 'testid':
        el.dataset.testid = value;
        break;
      case 'text':
        el.textContent = value;
        break;
      case 'attrs':
        for (const [name, v] of Object.entries(value)) {
          if (v === null || v === undefined || v === false) continue;
          el.setAttribute(name, v === true ? '' : String(v));
        }
        break;
      case 'data':
        for (const [name, v] of Object.entries(value)) {
          if (v !== null && v !== undefined) el.dataset[name] = v;
        }
        break;
      case 'on':
        for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
        break;
      case 'for':
        el.htmlFor = value;
        break;
      default:
        el[key] = value;
    }
  }
  append(el, children);
  return el;
}

/**
 * Text that came from a record (a title, a tag, a value), isolated from the page's
 * direction so that English inside Arabic (or the reverse) reads correctly.
 */
export function userText(text, props = {}) {
  return h('bdi', props, text ?? '');
}

/** Appends children (nodes, strings, arrays, nulls) to an element. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces all children of an element. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A QR code as an SVG element (one path of dark modules, a quiet zone of 4). */
export function qrSvg(size, modules, label) {
  const NS = 'http://www.w3.org/2000/svg';
  const quiet = 4;
  const side = size + 2 * quiet;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${side} ${side}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('shape-rendering', 'crispEdges');
  const bg = document.createElementNS(NS, 'rect');
  bg.setAttribute('width', String(side));
  bg.setAttribute('height', String(side));
  bg.setAttribute('fill', '#ffffff');
  const d = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (modules[y * size + x] === '1') d.push(`M${x + quiet} ${y + quiet}h1v1h-1z`);
    }
  }
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', d.join(''));
  path.setAttribute('fill', '#000000');
  svg.append(bg, path);
  return svg;
}
