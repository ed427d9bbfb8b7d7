// Flow editor: the "new step" fieldset shows only the fields of the chosen step type.
// Without JavaScript every field is shown and the server keeps only the type's own.
(function () {
  "use strict";
  const select = document.getElementById("new-step-type");
  if (!select) return;
  const parts = document.querySelectorAll("#new-step [data-types]");
  function show() {
    parts.forEach(function (part) {
      const types = part.dataset.types.trim().split(/\s+/);
      part.hidden = types.indexOf(select.value) < 0;
    });
  }
  select.addEventListener("change", show);
  show();
})();
