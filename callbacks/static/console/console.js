/* Agent console: live waiting list (polling), keyboard shortcuts, focus that stays put.
   Plain JS, no build step. The server renders every piece of HTML; this file only swaps
   the waiting list when /console/state says it changed. */
(function () {
  "use strict";

  var box = document.getElementById("waiting");
  var announcer = document.getElementById("queue-announce");
  var countEl = document.getElementById("waiting-count");

  function say(text) {
    if (!announcer || !text) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function playing(container) {
    var audios = container.querySelectorAll("audio");
    for (var i = 0; i < audios.length; i++) {
      if (!audios[i].paused) return true;
    }
    return false;
  }

  /* Where focus is inside the list, as (id of the nearest element with one, nth focusable). */
  function focusMark(container) {
    var active = document.activeElement;
    if (!active || !container.contains(active)) return null;
    var holder = active.closest("[id]");
    if (!holder || !container.contains(holder)) return null;
    var focusables = holder.querySelectorAll("a, button, audio, input, [tabindex]");
    return { id: holder.id, index: Array.prototype.indexOf.call(focusables, active) };
  }

  function restoreFocus(mark) {
    if (!mark) return;
    var holder = document.getElementById(mark.id);
    var target = null;
    if (holder) {
      var focusables = holder.querySelectorAll("a, button, audio, input, [tabindex]");
      target = focusables[mark.index] || holder;
    } else {
      target = document.getElementById("waiting-title");
    }
    if (target) target.focus({ preventScroll: true });
  }

  function rowIds(container) {
    return Array.prototype.map.call(container.querySelectorAll("tr[data-request]"), function (row) {
      return row.getAttribute("data-request");
    });
  }

  function describe(container, id) {
    var row = container.querySelector('tr[data-request="' + id + '"]');
    if (!row) return "#" + id;
    var need = row.querySelector(".need strong, .need q");
    var badge = row.querySelector(".badge");
    return [badge ? badge.textContent.trim() : "", need ? need.textContent.trim() : "#" + id]
      .filter(Boolean).join(", ");
  }

  /* The agent's own panel (a call connected, a lease ran out) is re-read with the page,
     but only when that cannot lose anything: nothing typed or chosen, focus elsewhere. */
  function refreshMine(version) {
    var mine = document.getElementById("mine");
    if (!mine || mine.getAttribute("data-version") === version) return;
    var active = document.activeElement;
    if (active && mine.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return;
    var fields = mine.querySelectorAll("textarea, input[type=text], input:not([type]), " +
                                       "input[type=datetime-local], input[type=radio]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].type === "radio" ? fields[i].checked : fields[i].value) return;
    }
    window.location.reload();
  }

  /* Live call status in the agent's own panel: ringing, connected, declined, ... */
  function updateCalls(calls) {
    if (!calls) return;
    Object.keys(calls).forEach(function (id) {
      var el = document.getElementById("call-status-" + id);
      if (!el || el.getAttribute("data-status") === calls[id].status) return;
      el.setAttribute("data-status", calls[id].status);
      if (el.textContent !== calls[id].text) {
        el.textContent = calls[id].text;
        say(calls[id].text);
      }
    });
  }

  function apply(state) {
    if (countEl) countEl.textContent = String(state.waiting);
    updateCalls(state.calls);
    refreshMine(state.mine);
    if (!state.changed) return;
    if (playing(box)) return; /* never cut a recording off; the next poll catches up */
    var before = rowIds(box);
    var mark = focusMark(box);
    box.innerHTML = state.html;
    box.setAttribute("data-version", state.version);
    restoreFocus(mark);
    var after = state.ids.map(String);
    var added = after.filter(function (id) { return before.indexOf(id) < 0; });
    var gone = before.filter(function (id) { return after.indexOf(id) < 0; });
    if (!added.length && !gone.length) return; /* only clocks moved: stay quiet */
    alertUrgent(added);
    var parts = added.map(function (id) {
      return fill(box.getAttribute("data-new-text"), { what: describe(box, id) });
    });
    if (gone.length) parts.push(fill(box.getAttribute("data-left-text"), { n: gone.length }));
    parts.push(fill(box.getAttribute("data-count-text"), { n: state.waiting }));
    say(parts.join(" "));
  }

  /* New urgent requests (emergencies, callers who are not digital): a visible alert that
     stays until the page changes, and a short tone if the agent asked for one. */
  var urgentBox = document.getElementById("urgent-alert");
  var soundBox = document.getElementById("alert-sound");
  var SOUND_KEY = "console.alertSound";
  if (soundBox) {
    try { soundBox.checked = window.localStorage.getItem(SOUND_KEY) === "1"; } catch (e) { /* private mode */ }
    soundBox.addEventListener("change", function () {
      try { window.localStorage.setItem(SOUND_KEY, soundBox.checked ? "1" : "0"); } catch (e) { /* ignore */ }
    });
  }

  function tone() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    var ctx = new Context();
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.15;
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
    osc.onended = function () { ctx.close(); };
    urgentBox.setAttribute("data-sounded", String(Number(urgentBox.getAttribute("data-sounded") || 0) + 1));
  }

  function alertUrgent(added) {
    if (!urgentBox) return;
    var urgent = added.filter(function (id) {
      var row = box.querySelector('tr[data-request="' + id + '"]');
      return row && row.getAttribute("data-urgent") === "1";
    });
    if (!urgent.length) return;
    urgentBox.textContent = urgent.map(function (id) {
      return fill(urgentBox.getAttribute("data-text"), { what: describe(box, id) });
    }).join(" ");
    urgentBox.hidden = false;
    if (soundBox && soundBox.checked) tone();
  }

  function poll() {
    var url = box.getAttribute("data-state-url") + "?v=" +
      encodeURIComponent(box.getAttribute("data-version") || "");
    return fetch(url, { credentials: "same-origin", redirect: "manual",
                        headers: { Accept: "application/json" } })
      .then(function (res) {
        if (res.type === "opaqueredirect" || res.status === 401 || res.status === 403) {
          window.location.reload(); /* session over: the server sends us to the login page */
          return null;
        }
        return res.ok ? res.json() : null;
      })
      .then(function (state) { if (state) apply(state); })
      .catch(function () { /* offline for a moment: try again on the next tick */ });
  }

  function startPolling() {
    if (!box) return;
    var seconds = parseFloat(box.getAttribute("data-poll")) || 4;
    var busy = false;
    window.setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      poll().then(function () { busy = false; }, function () { busy = false; });
    }, seconds * 1000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) return true;
    return tag === "input" && ["radio", "checkbox", "button", "submit"].indexOf(target.type) < 0;
  }

  function firstEnabled(selector) {
    var found = document.querySelectorAll(selector);
    for (var i = 0; i < found.length; i++) {
      if (!found[i].disabled) return found[i];
    }
    return null;
  }

  /* An agent holds one request at a time: c, r and o act on it, and n while one is held
     goes to it (with the reason) instead of taking another. */
  var HELD = "#mine article.claim ";
  var shortcuts = {
    n: function () {
      var b = firstEnabled("#take-next");
      if (b) { b.click(); return; }
      var held = document.querySelector("#mine article.claim");
      var why = document.getElementById("take-why");
      if (held) held.focus();
      if (why) say(why.textContent.trim());
    },
    c: function () { var b = firstEnabled(HELD + 'button[data-shortcut="c"]'); if (b) b.click(); },
    r: function () { var b = firstEnabled(HELD + 'button[data-shortcut="r"]'); if (b) b.click(); },
    o: function () {
      var radio = firstEnabled(HELD + '[data-shortcut="o"]');
      if (radio) { radio.focus(); radio.scrollIntoView({ block: "center" }); }
    },
    q: function () {
      var heading = document.getElementById("waiting-title");
      if (heading) { heading.focus(); heading.scrollIntoView({ block: "start" }); }
    }
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey ||
        event.isComposing || typing(event.target)) return;
    var action = shortcuts[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  /* Availability: a change is saved at once (the Save button is for pages without JS). */
  Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (el) {
    var button = el.form && el.form.querySelector(".js-hide");
    if (button) button.hidden = true;
    el.addEventListener("change", function () { el.form.requestSubmit(); });
  });

  /* After-call work: count down, then the agent may take the next request. */
  var wrap = document.getElementById("wrap-up");
  if (wrap) {
    var left = wrap.querySelector(".wrap-left");
    var until = Date.parse(wrap.getAttribute("data-until"));
    var skew = Date.parse(wrap.getAttribute("data-server-now")) - Date.now();
    var timer = window.setInterval(function () {
      var seconds = Math.max(0, Math.round((until - (Date.now() + skew)) / 1000));
      left.textContent = fill(left.getAttribute("data-left-text"), { seconds: seconds });
      if (seconds > 0) return;
      window.clearInterval(timer);
      wrap.hidden = true;
      var take = document.getElementById("take-next");
      if (take && !document.querySelector("#mine article.claim")) {
        take.disabled = false;
        take.removeAttribute("aria-describedby");
      }
    }, 1000);
  }

  /* A refused outcome form comes back from its POST: make a later reload a plain GET. */
  var refused = document.querySelector("#mine .field-error");
  if (refused && window.history.replaceState) {
    var claimEl = refused.closest("article.claim");
    /* no #claim-N here: the browser would focus the claim at load, away from the field */
    window.history.replaceState(null, "", box.getAttribute("data-home"));
    var invalid = claimEl && claimEl.querySelector("[aria-invalid=true], fieldset[aria-describedby]");
    if (invalid) {
      invalid.scrollIntoView({ block: "center" });
      if (invalid.focus) invalid.focus({ preventScroll: true });
    }
  }

  /* After "take next" the page comes back at #claim-N: put the keyboard there too. */
  if (!refused && window.location.hash.indexOf("#claim-") === 0) {
    var claim = document.getElementById(window.location.hash.slice(1));
    if (claim) claim.focus();
  }
  startPolling();
})();
