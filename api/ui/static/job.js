// Keeps a job page current while the job runs: polls its state once a second
// and updates status, progress and duration in place, without reloading.
(function () {
  "use strict";
  var box = document.getElementById("job-state");
  if (!box || box.dataset.finished === "true") { return; }
  var url = box.dataset.stateUrl;
  function show(state) {
    var status = document.getElementById("job-status");
    status.textContent = state.status;
    status.className = "status " + state.status;
    document.getElementById("job-progress").value = state.progress;
    document.getElementById("job-percent").textContent = Math.round(state.progress * 100) + "%";
    document.getElementById("job-attempts").textContent = state.attempts;
    document.getElementById("job-duration").textContent = state.duration;
    if (state.finished) {
      box.dataset.finished = "true";
      document.getElementById("job-reload").hidden = false;
    }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (state) {
        if (state) { show(state); }
        if (box.dataset.finished !== "true") { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1000);
})();
