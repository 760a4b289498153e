// Screen readers: announce the verdict and the training status when they change. Gradio's Markdown has no
// aria options, and a tab's contents enter the page only when the tab is opened: mark them as they appear.
(() => {
  const mark = () => {
    for (const id of ["verdict", "train-status"]) {
      const el = document.getElementById(id);
      if (el && !el.hasAttribute("aria-live")) {
        el.setAttribute("role", "status");
        el.setAttribute("aria-live", "polite");
        el.setAttribute("aria-atomic", "true");
      }
    }
  };
  const start = () => { mark(); new MutationObserver(mark).observe(document.body, { childList: true, subtree: true }); };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
