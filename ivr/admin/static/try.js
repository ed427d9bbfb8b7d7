/* A test call through the live engine: each answer is typed, recorded from the microphone
   (captured as PCM and packed as a 16 kHz WAV here, no MediaRecorder codecs) or uploaded;
   the server replays the answers so far and returns every turn. */
(function () {
  "use strict";
  var form = document.getElementById("try-form");
  var recordButton = document.getElementById("record");
  var statusLine = document.getElementById("record-status");
  var recorded = null;
  var capture = null;
  var answers = [];
  var labels = document.getElementById("labels").dataset;
  var decisions = JSON.parse(document.getElementById("decision-labels").textContent);
  function decision(code) { return decisions[code] || code; }

  function show(id, text) { document.getElementById(id).textContent = text; }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function renderTurn(turn) {
    var chat = document.getElementById("chat");
    if (turn.heard !== null) {
      var said = el("li", "caller");
      said.appendChild(el("strong", "", labels.caller + ": "));
      said.appendChild(document.createTextNode(turn.heard || labels.silence));
      chat.appendChild(said);
    }
    var reply = el("li", "hotline");
    reply.appendChild(el("strong", "", labels.hotline + ": "));
    reply.appendChild(el("span", "said", turn.said.join(" ")));
    var facts = el("div", "turn-facts");
    if (turn.decision) {
      var badge = el("span", "badge decision", decision(turn.decision));
      badge.dataset.decision = turn.decision;
      facts.appendChild(badge);
      if (turn.intent) {
        facts.appendChild(el("span", "intent", " " + turn.intent +
          (turn.confidence !== null ? " (" + turn.confidence.toFixed(2) + ")" : "")));
      }
    }
    facts.appendChild(el("span", "steps", " " + turn.steps.join(" → ")));
    reply.appendChild(facts);
    reply.dataset.waitsAt = turn.waits_at || "";
    chat.appendChild(reply);
  }

  /* The caller hung up: where, and what the engine did about it (as on a live call). */
  function hungUp(hangup) {
    var item = el("li", "hangup");
    item.dataset.outcome = hangup.outcome || "";
    item.dataset.callback = hangup.callback || "";
    item.appendChild(el("strong", "", labels.hungUp.replace("{step}", hangup.at || "—")));
    var kind = hangup.callback === "silent" ? labels.sourceSilent : labels.sourceHangup;
    item.appendChild(document.createTextNode(" " + (hangup.callback
      ? labels.hungUpCallback.replace("{kind}", kind) : labels.hungUpNoCallback)));
    return item;
  }

  function render(data) {
    var box = document.getElementById("try-result");
    var error = document.getElementById("try-error");
    if (data.error) { error.textContent = data.error; error.hidden = false; return; }
    error.hidden = true;
    answers = data.answers;
    var chat = document.getElementById("chat");
    chat.textContent = "";
    data.turns.forEach(renderTurn);
    if (data.hangup) { chat.appendChild(hungUp(data.hangup)); }
    if (data.over) { chat.appendChild(el("li", "over", labels.over)); }
    document.getElementById("try-hangup").disabled = data.over;
    var last = data.turns[data.turns.length - 1];
    var answered = data.turns.filter(function (t) { return t.heard !== null; });
    var latest = answered.length ? answered[answered.length - 1] : null;
    show("r-transcript", data.transcript !== undefined ? (data.transcript || "—")
      : (latest ? latest.heard || "—" : "—"));
    show("r-intent", data.intent || "—");
    show("r-confidence", data.intent_confidence !== null ? data.intent_confidence.toFixed(2) : "—");
    show("r-decision", latest && latest.decision ? decision(latest.decision) : "—");
    show("r-outcome", data.outcome || (last.waits_at ? "… " + last.waits_at : "—"));
    var list = document.getElementById("r-path");
    list.textContent = "";
    data.path.forEach(function (step) {
      var item = el("li", "", step);
      item.dataset.step = step;
      list.appendChild(item);
    });
    box.hidden = false;
    form.dataset.turns = String(data.turns.length);
    document.getElementById("try-text").value = "";
  }

  function send(withAnswer, hangUp) {
    var data = new FormData(form);
    data.delete("answer");
    if (!withAnswer) { data.delete("text"); data.delete("audio"); }
    if (hangUp) { data.set("hangup", "yes"); }
    answers.forEach(function (a) { data.append("answer", a); });
    if (withAnswer && recorded) { data.set("audio", recorded, "microphone.wav"); }
    return fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(render)
      .catch(function (e) { render({ error: String(e) }); })
      .finally(function () { recorded = null; document.getElementById("try-audio").value = ""; });
  }

  function restart() { answers = []; send(false); }

  form.addEventListener("submit", function (event) { event.preventDefault(); send(true); });
  document.getElementById("try-restart").addEventListener("click", restart);
  document.getElementById("try-hangup").addEventListener("click", function () { send(false, true); });
  ["try-version", "try-lang", "try-not-digital"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", restart);
  });
  restart();

  function wav(samples, rate) {
    var buffer = new ArrayBuffer(44 + samples.length * 2);
    var view = new DataView(buffer);
    function text(offset, s) { for (var i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); }
    text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
    text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true);
    view.setUint16(22, 1, true); view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true);
    view.setUint16(32, 2, true); view.setUint16(34, 16, true); text(36, "data");
    view.setUint32(40, samples.length * 2, true);
    for (var i = 0; i < samples.length; i++) {
      var s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([view], { type: "audio/wav" });
  }

  function downsample(chunks, from, to) {
    var total = chunks.reduce(function (n, c) { return n + c.length; }, 0);
    var all = new Float32Array(total), at = 0;
    chunks.forEach(function (c) { all.set(c, at); at += c.length; });
    if (from <= to) { return all; }
    var ratio = from / to, out = new Float32Array(Math.floor(total / ratio));
    for (var i = 0; i < out.length; i++) {
      var start = Math.floor(i * ratio), end = Math.min(Math.floor((i + 1) * ratio), total), sum = 0;
      for (var j = start; j < end; j++) sum += all[j];
      out[i] = sum / Math.max(end - start, 1);
    }
    return out;
  }

  function start() {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var context = new (window.AudioContext || window.webkitAudioContext)();
      var source = context.createMediaStreamSource(stream);
      var node = context.createScriptProcessor(4096, 1, 1);
      var chunks = [];
      node.onaudioprocess = function (e) { chunks.push(new Float32Array(e.inputBuffer.getChannelData(0))); };
      source.connect(node); node.connect(context.destination);
      capture = { stream: stream, context: context, node: node, chunks: chunks };
      recordButton.textContent = recordButton.dataset.stop;
      recordButton.setAttribute("aria-pressed", "true");
      statusLine.textContent = "● REC";
    }).catch(function (e) { statusLine.textContent = String(e); });
  }

  function stop() {
    var c = capture; capture = null;
    c.node.disconnect(); c.stream.getTracks().forEach(function (t) { t.stop(); });
    var rate = c.context.sampleRate;
    c.context.close();
    recorded = wav(downsample(c.chunks, rate, 16000), Math.min(rate, 16000));
    recordButton.textContent = recordButton.dataset.start;
    recordButton.setAttribute("aria-pressed", "false");
    statusLine.textContent = Math.round(recorded.size / 1024) + " KB";
    form.requestSubmit();
  }

  recordButton.addEventListener("click", function () { if (capture) { stop(); } else { start(); } });
})();
