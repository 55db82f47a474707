(() => {
  "use strict";
  const state = { area: "all", status: "all" };
  const shown = document.getElementById("shown");
  const apply = () => {
    let n = 0;
    document.querySelectorAll(".check").forEach((c) => {
      const ok = (state.area === "all" || c.dataset.area === state.area) &&
        (state.status === "all" || c.dataset.status === state.status);
      c.hidden = !ok;
      n += ok ? 1 : 0;
    });
    if (shown) shown.textContent = n + " shown";
  };
  document.querySelectorAll(".filters button").forEach((b) => b.addEventListener("click", () => {
    state[b.dataset.filter] = b.dataset.value;
    document.querySelectorAll('.filters button[data-filter="' + b.dataset.filter + '"]')
      .forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
    apply();
  }));
  const tip = document.createElement("div");
  tip.className = "tip";
  tip.hidden = true;
  document.body.append(tip);
  const show = (e) => {
    const t = e.target instanceof Element ? e.target.closest("[data-tip]") : null;
    if (!t) { tip.hidden = true; return; }
    tip.textContent = t.getAttribute("data-tip");
    tip.hidden = false;
    const x = Math.max(4, Math.min(e.clientX + 12, innerWidth - tip.offsetWidth - 6));
    const y = e.clientY - tip.offsetHeight - 10;
    tip.style.left = x + "px";
    tip.style.top = (y < 4 ? e.clientY + 16 : y) + "px";
  };
  document.addEventListener("pointermove", show);
  document.addEventListener("pointerdown", show);
  document.addEventListener("scroll", () => { tip.hidden = true; }, { passive: true });
  document.querySelectorAll("button.copy").forEach((b) => b.addEventListener("click", () => {
    const text = b.previousElementSibling ? b.previousElementSibling.textContent : "";
    if (navigator.clipboard) navigator.clipboard.writeText(text || "").then(() => { b.textContent = "copied"; }, () => {});
  }));
  apply();
})();
