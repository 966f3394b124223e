// Keeps the jobs list current: every two seconds, each row of a job that has not
// ended asks for its state and updates status, progress and duration in place.
(function () {
  "use strict";
  function update(row, state) {
    var status = row.querySelector(".status");
    status.textContent = state.status;
    status.className = "status " + state.status;
    row.querySelector("progress").value = state.progress;
    row.querySelector(".percent").textContent = Math.round(state.progress * 100) + "%";
    row.querySelector(".duration").textContent = state.duration;
    if (state.finished) { row.removeAttribute("data-state-url"); }
  }
  function poll() {
    var rows = document.querySelectorAll("tr[data-state-url]");
    if (!rows.length) { return; }
    var pending = Array.prototype.map.call(rows, function (row) {
      return fetch(row.dataset.stateUrl, { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (state) { if (state) { update(row, state); } })
        .catch(function () { /* tried again on the next round */ });
    });
    Promise.all(pending).then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
