// What a person would see as broken, as a list of sentences (empty when the page holds):
// the page scrolls sideways, two visible texts overlap, or a text is cut off by a box
// that hides its overflow or by the edge of the window. Text scrolled out of view inside
// a scrolling box (a wide table in its card) is neither, nor is text kept for screen
// readers only (in a 1 px box, as a stacked table's column names).
() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) {
    problems.push(`scrolls sideways: ${doc.scrollWidth} px wide in ${doc.clientWidth} px`);
  }
  const boxes = textBoxes();
  for (const box of boxes) {
    const cut = clippedBy(box);
    if (cut) problems.push(`"${box.text}" is cut off by ${cut}`);
  }
  const shown = boxes.filter((box) => !box.scrolledAway);
  for (let i = 0; i < shown.length; i++) {
    for (let j = i + 1; j < shown.length; j++) {
      const a = shown[i], b = shown[j];
      if (a.el !== b.el && overlap(a.rect, b.rect)) problems.push(`"${a.text}" overlaps "${b.text}"`);
    }
  }
  return problems.slice(0, 10);

  function textBoxes() {
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const el = node.parentElement;
      if (!node.textContent.trim() || el.closest(".skip-link") || forReadersOnly(el)) continue;
      if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const rect of range.getClientRects()) {
        if (rect.width < 1 || rect.height < 1) continue;
        const text = node.textContent.trim().slice(0, 40);
        found.push({ el, rect, text, scrolledAway: outsideScroller(el, rect) });
      }
    }
    return found;
  }

  function forReadersOnly(el) {
    return ancestors(el).some((a) => {
      const rect = a.getBoundingClientRect();
      return rect.width <= 1 && rect.height <= 1 && getComputedStyle(a).overflow === "hidden";
    });
  }

  function ancestors(el) {
    const list = [];
    for (let a = el; a && a !== doc; a = a.parentElement) list.push(a);
    return list;
  }

  function outsideScroller(el, rect) {
    return ancestors(el).some((a) => {
      const overflow = getComputedStyle(a).overflowX;
      return (overflow === "auto" || overflow === "scroll") && !inside(rect, a.getBoundingClientRect());
    });
  }

  function clippedBy(box) {
    if (box.scrolledAway) return null;
    if (box.rect.left < -1 || box.rect.right > doc.clientWidth + 1) return "the window's edge";
    for (const a of ancestors(box.el)) {
      const style = getComputedStyle(a);
      const hidesX = ["hidden", "clip"].includes(style.overflowX);
      const hidesY = ["hidden", "clip"].includes(style.overflowY);
      if (!hidesX && !hidesY) continue;
      const outer = a.getBoundingClientRect();
      // A glyph box a little taller than a tight line height is not a cut.
      const slack = box.rect.height / 3;
      const cutX = hidesX && (box.rect.left < outer.left - 1 || box.rect.right > outer.right + 1);
      const cutY = hidesY && (box.rect.top < outer.top - slack || box.rect.bottom > outer.bottom + slack);
      if (cutX || cutY) return describe(a);
      if (hidesX && a === box.el && a.scrollWidth > a.clientWidth + 1) return describe(a);
    }
    return null;
  }

  function inside(rect, outer) {
    return rect.left >= outer.left - 1 && rect.right <= outer.right + 1 &&
      rect.top >= outer.top - 1 && rect.bottom <= outer.bottom + 1;
  }

  function overlap(a, b) {
    const width = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const height = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return width > 2 && height > 2;
  }

  function describe(el) {
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
  }
}
