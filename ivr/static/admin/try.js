/* "Try it": send a typed sentence, a microphone recording (captured as PCM and packed
   as a 16 kHz WAV here, no MediaRecorder codecs) or an uploaded file; show the answer. */
(function () {
  "use strict";
  var form = document.getElementById("try-form");
  var recordButton = document.getElementById("record");
  var statusLine = document.getElementById("record-status");
  var recorded = null;
  var capture = null;

  function show(id, text) { document.getElementById(id).textContent = text; }

  function render(data) {
    var box = document.getElementById("try-result");
    var error = document.getElementById("try-error");
    if (data.error) { error.textContent = data.error; error.hidden = false; box.hidden = true; return; }
    error.hidden = true;
    show("r-transcript", data.transcript !== undefined ? (data.transcript || "—") : data.text);
    show("r-intent", data.intent || "—");
    show("r-confidence", data.confidence ? data.confidence.toFixed(2) : "—");
    show("r-decision", data.decision || "—");
    show("r-outcome", data.outcome || "—");
    var list = document.getElementById("r-path");
    list.textContent = "";
    data.steps.forEach(function (step) {
      var item = document.createElement("li");
      item.dataset.step = step.step;
      var name = document.createElement("strong");
      name.textContent = step.step + " (" + step.type + ")";
      item.appendChild(name);
      if (step.said) { item.appendChild(document.createTextNode(" “" + step.said + "”")); }
      if (step.note) {
        var note = document.createElement("span");
        note.className = "note";
        note.textContent = " — " + step.note;
        item.appendChild(note);
      }
      list.appendChild(item);
    });
    box.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    if (recorded) { data.set("audio", recorded, "microphone.wav"); }
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(render)
      .catch(function (e) { render({ error: String(e) }); })
      .finally(function () { recorded = null; });
  });

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
