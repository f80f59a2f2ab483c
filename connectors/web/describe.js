// What the drift check knows of an element: role, accessible name, id, place (see drift.py).
// Evaluated as the body of a function: INVENTORY lists every candidate, ONE describes one.
const SEL = 'a, button, input, select, textarea, table, [role], h1, h2, h3, [id]';
const shown = (el) =>
  el.getClientRects().length > 0 && !(el.tagName === 'INPUT' && el.type === 'hidden');
const roleOf = (el) => {
  const explicit = el.getAttribute('role');
  if (explicit) return explicit.split(' ')[0];
  const tag = el.tagName.toLowerCase();
  if (tag === 'a') return el.hasAttribute('href') ? 'link' : 'generic';
  if (tag === 'button') return 'button';
  if (tag === 'input') {
    const t = (el.getAttribute('type') || 'text').toLowerCase();
    if (['submit', 'button', 'reset', 'image'].includes(t)) return 'button';
    if (t === 'checkbox' || t === 'radio') return t;
    return 'textbox';
  }
  if (tag === 'select') return el.multiple ? 'listbox' : 'combobox';
  if (tag === 'textarea') return 'textbox';
  if (tag === 'table') return 'table';
  if (/^h[1-6]$/.test(tag)) return 'heading';
  return 'generic';
};
const clean = (text, size) => (text || '').replace(/\s+/g, ' ').trim().slice(0, size);
const labelOf = (el) => {
  if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
  const by = el.getAttribute('aria-labelledby');
  if (by) return by.split(/\s+/).map((id) => (document.getElementById(id) || {}).innerText || '').join(' ');
  if (el.id) {
    const label = document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
    if (label) return label.innerText;
  }
  const wrap = el.closest('label');
  return wrap ? wrap.innerText : '';
};
const nameOf = (el, role) => {
  const label = labelOf(el);
  if (label) return label;
  if (el.tagName === 'INPUT' && role === 'button') return el.value || '';
  if (['link', 'button', 'heading'].includes(role)) return el.innerText;
  return el.title || el.placeholder || '';
};
const pathOf = (el) => {
  const parts = [];
  for (let node = el; node && node.nodeType === 1 && node !== document.body; node = node.parentElement) {
    let index = 1;
    for (let sib = node.previousElementSibling; sib; sib = sib.previousElementSibling)
      if (sib.tagName === node.tagName) index++;
    parts.unshift(node.tagName.toLowerCase() + ':nth-of-type(' + index + ')');
  }
  return parts.join(' > ');
};
// containers (the body, a form, a div holding fields) are where elements are, not elements
const container = (el) => roleOf(el) === 'generic' && el.querySelector(SEL) !== null;
const all = () => Array.from(document.querySelectorAll(SEL)).filter((el) => shown(el) && !container(el));
const describe = (el, everything) => {
  const role = roleOf(el);
  const same = everything.filter((other) => roleOf(other) === role);
  const header = el.tagName === 'TABLE' && el.rows.length ? el.rows[0].innerText : '';
  return {
    tag: el.tagName.toLowerCase(), type: (el.getAttribute('type') || '').toLowerCase(),
    id: el.id || '', name_attr: el.getAttribute('name') || '', role: role,
    name: clean(nameOf(el, role), 80), text: clean(header || (role === 'generic' ? el.innerText : ''), 60),
    href: el.getAttribute('href') || '', path: pathOf(el), index: same.indexOf(el),
  };
};
