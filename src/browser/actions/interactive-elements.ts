/**
 * Page-side source of get_interactive_elements. It is a string, not a TypeScript function:
 * tsx compiles with keepNames, which wraps named inner functions in a `__name` helper that
 * does not exist inside the page.
 */
export const LIST_INTERACTIVE_ELEMENTS = `(visibleOnly) => {
  const query = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=link], ' +
    '[role=checkbox], [role=tab], [role=menuitem], [onclick], [contenteditable=""], [contenteditable=true], ' +
    '[tabindex]:not([tabindex="-1"])';
  const selectorOf = (el) => {
    if (el.id) return '#' + CSS.escape(el.id);
    const tag = el.tagName.toLowerCase();
    const name = el.getAttribute('name');
    if (name) return tag + "[name='" + name.replace(/'/g, "\\\\'") + "']";
    const parts = [];
    let node = el;
    while (node && node !== document.documentElement) {
      if (node.id) { parts.unshift('#' + CSS.escape(node.id)); break; }
      const parent = node.parentElement;
      const same = parent ? Array.from(parent.children).filter((c) => c.tagName === node.tagName) : [];
      const t = node.tagName.toLowerCase();
      parts.unshift(same.length > 1 ? t + ':nth-of-type(' + (same.indexOf(node) + 1) + ')' : t);
      node = parent;
    }
    return parts.join(' > ');
  };
  const out = [];
  for (const el of document.querySelectorAll(query)) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const isRendered = r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
    const isOnScreen = r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
    const visible = isRendered && isOnScreen;
    if (visibleOnly && !visible) continue;
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.placeholder || '').trim().slice(0, 100);
    out.push({
      i: out.length,
      tag: el.tagName.toLowerCase(),
      type: el.getAttribute('type'),
      id: el.id || null,
      text,
      selector: selectorOf(el),
      x: Math.round(r.left + r.width / 2),
      y: Math.round(r.top + r.height / 2),
      w: Math.round(r.width),
      h: Math.round(r.height),
      visible,
    });
  }
  return out;
}`;
