// borough's recorder: reports the operator's clicks and typed values to the recorder.
// Values reach it only through window.boroughRecord (a Playwright binding); nothing leaves
// the machine. Password fields are reported without their value.
(() => {
  if (window.__boroughRecorder) return;
  window.__boroughRecorder = true;
  const quote = (text) => JSON.stringify(text);
  const selector = (el) => {
    if (el.id) return "#" + CSS.escape(el.id);
    const name = el.getAttribute("name");
    if (name) return el.tagName.toLowerCase() + "[name=" + quote(name) + "]";
    const text = (el.innerText || el.value || "").trim();
    if (text && text.length <= 40 && /^(A|BUTTON|INPUT)$/.test(el.tagName)) return "text=" + quote(text);
    const path = [];
    for (let node = el; node && node.nodeType === 1 && node !== document.body; node = node.parentElement) {
      const siblings = node.parentElement ? Array.from(node.parentElement.children).filter((s) => s.tagName === node.tagName) : [];
      path.unshift(node.tagName.toLowerCase() + (siblings.length > 1 ? ":nth-of-type(" + (siblings.indexOf(node) + 1) + ")" : ""));
    }
    return path.join(" > ");
  };
  const label = (el) => {
    const own = el.labels && el.labels.length ? el.labels[0].innerText : "";
    return (own || el.getAttribute("aria-label") || el.getAttribute("placeholder") || el.innerText || el.value || el.getAttribute("name") || el.id || "").trim().slice(0, 60);
  };
  const send = (event) => { try { window.boroughRecord(event); } catch (e) { /* not recording */ } };
  document.addEventListener("click", (e) => {
    const el = e.target.closest("a, button, input[type=submit], input[type=button], input[type=checkbox], input[type=radio], [onclick], [role=button]");
    if (el) send({ kind: "click", selector: selector(el), label: label(el) });
  }, true);
  document.addEventListener("change", (e) => {
    const el = e.target;
    if (!el.matches("input, select, textarea") || /^(checkbox|radio|submit|button)$/.test(el.type)) return;
    const secret = el.type === "password";
    send({ kind: el.tagName === "SELECT" ? "select" : "fill", selector: selector(el), label: label(el), value: secret ? "" : el.value, secret });
  }, true);
})();
