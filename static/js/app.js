// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the error summary so keyboard and screen-reader users hear what to fix.
  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
});
