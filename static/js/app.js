// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the error summary so keyboard and screen-reader users hear what to fix.
  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
});

// Print buttons on the document pages.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});

// A background job's page: follow its progress, and show the result once it is finished.
document.addEventListener("DOMContentLoaded", () => {
  const job = document.querySelector("[data-job-status]");
  if (!job) {
    return;
  }
  const bar = job.querySelector("progress");
  const text = job.querySelector("[data-job-progress]");
  const poll = () => {
    fetch(job.dataset.jobStatus, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((status) => {
        if (status.finished) {
          window.location.reload();
          return;
        }
        if (status.total) {
          bar.max = status.total;
          bar.value = status.done;
        }
        text.textContent = status.text;
        window.setTimeout(poll, 2000);
      })
      .catch(() => window.setTimeout(poll, 10000));
  };
  window.setTimeout(poll, 2000);
});

// A value to copy (a new API token): selected whole on focus, with a copy button beside it.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-copy-value]").forEach((input) => {
    input.addEventListener("focus", () => input.select());
    if (!navigator.clipboard) {
      return;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-secondary mb-2";
    button.textContent = input.dataset.copyLabel;
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(input.value).then(() => {
        button.textContent = input.dataset.copiedLabel;
      });
    });
    input.insertAdjacentElement("afterend", button);
  });
});
