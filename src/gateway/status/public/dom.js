// @ts-check
// Building the page's DOM: text is always set as text, never as HTML.

/**
 * What `el` accepts as children: nodes, text, nothing, or lists of them.
 * @typedef {Node | string | number | null | undefined | false | readonly Child[]} Child
 */

/**
 * The element with this id, of the expected class (the page's HTML and its script go together).
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{ new (): T, prototype: T }} [type]
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  if (type && !(node instanceof type)) throw new Error(`#${id} is a <${node.tagName.toLowerCase()}>`);
  return /** @type {T} */ (node);
}

/**
 * @param {readonly Child[]} children
 * @param {(Node | string)[]} into
 * @returns {(Node | string)[]}
 */
function flatten(children, into = []) {
  for (const c of children) {
    if (Array.isArray(c)) flatten(c, into);
    else if (c instanceof Node) into.push(c);
    else if (c !== null && c !== undefined && c !== false) into.push(String(c));
  }
  return into;
}

/**
 * el('td', {class: 'x'}, 'text', child). Attributes that are null, undefined or false are left out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined> | null} attrs
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? '' : String(v));
  }
  node.append(...flatten(children));
  return node;
}

/**
 * A definition list's terms and values.
 * @param {HTMLElement} target
 * @param {[Child, Child][]} pairs
 */
export function facts(target, pairs) {
  target.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
}

/**
 * @param {string} text
 * @param {string} kind ok, warn, bad, asleep
 */
export const badge = (text, kind) => el('span', { class: `badge ${kind}` }, text);

/** @param {string} text */
export const empty = (text) => el('p', { class: 'empty' }, text);

/** @param {Child} text */
export const nowrap = (text) => el('td', { class: 'nowrap' }, text);

/**
 * Plain words with the technical term behind them as a tooltip (dotted underline).
 * @param {Child} text
 * @param {string | null | undefined} technical
 */
export const term = (text, technical) =>
  technical ? el('span', { class: 'term', title: technical }, text) : el('span', null, text);

/**
 * Labels each cell with its column's header (`data-label`): on a phone the table's rows
 * stack as cards and each cell shows its label (app.css), so no column is out of sight.
 * @param {HTMLTableElement} node
 */
export function labelCells(node) {
  const headers = [...node.querySelectorAll('thead th')].map((th) => th.textContent || '');
  for (const row of node.querySelectorAll('tbody tr')) {
    [...row.children].forEach((cell, i) => {
      cell.setAttribute('data-label', headers[i] || '');
    });
  }
}

/**
 * A table with a header row; on a phone its rows stack (see labelCells).
 * @param {string[]} headers
 * @param {HTMLTableRowElement[]} rows
 */
export function table(headers, rows) {
  const node = el(
    'table',
    { class: 'stack' },
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        headers.map((h) => el('th', null, h)),
      ),
    ),
    el('tbody', null, rows),
  );
  labelCells(node);
  return el('div', { class: 'scroll' }, node);
}
