// Flow editor: the "new step" fieldset shows only the fields of the chosen step type.
// Without JavaScript every field is shown and the server keeps only the type's own.
// After a refused edit, the keyboard focus goes to the field (or step) that says why.
(function () {
  "use strict";
  const refused = document.querySelector("#flow-form p.problem[data-rule=form]");
  if (refused) {
    const holder = refused.closest("label, section, details, fieldset");
    const control = holder && holder.querySelector("input, select, textarea, button");
    if (control) control.focus();
    refused.scrollIntoView({block: "center"});
  }
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
