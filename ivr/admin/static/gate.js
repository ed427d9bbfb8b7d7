/* The evaluation gate runs on the server's side (ivr.admin.gate_runs): show its progress,
   and reload the review page once it has finished, with the figures. */
(function () {
  "use strict";
  var box = document.getElementById("gate-running");
  if (!box) { return; }
  var bar = document.getElementById("gate-progress");
  var status = document.getElementById("gate-status");
  var template = status.dataset.template || "";
  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.finished) { window.location.reload(); return; }
        bar.max = data.total;
        bar.value = data.done;
        if (template) {
          status.textContent = template.replace("{done}", data.done).replace("{total}", data.total);
        }
        window.setTimeout(poll, 700);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 700);
}());
