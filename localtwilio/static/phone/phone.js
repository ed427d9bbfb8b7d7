// The local phone page: a WebSocket to /phone/socket carries the call (see localtwilio/phone.py).
(() => {
  "use strict";
  const root = document.getElementById("phone");
  // The words come from the translation catalogs (localtwilio/translations), by the page.
  const T = JSON.parse(document.getElementById("phone-text").textContent);
  const outcomeText = (outcome) => T["outcome." + outcome] || outcome || "";
  const $ = (id) => document.getElementById(id);
  const status = $("status"), turns = $("turns");
  let ws = null, ctx = null, mic = null, listening = null, playing = false, inCall = false;
  let partialItem = null;  // the live transcript line, replaced by the final text
  let streamAt = 0, streamSources = [];  // barge-in audio from the Media Stream
  // Bridged to another page: the microphone streams to it, and its voice is played here.
  let bridged = false, remoteAt = 0, remoteSources = [], remoteFrames = 0;
  const REMOTE_CUSHION = 0.06, REMOTE_MAX_AHEAD = 0.5;  // seconds: jitter vs latency

  function setState(state) { root.dataset.state = state; }
  function say(text) { status.textContent = text; }
  function send(message) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message)); }
  function addTurn(who, text, label) {
    const li = document.createElement("li");
    li.className = who;
    const tag = document.createElement("span");
    tag.className = "who";
    tag.textContent = label || "";
    li.append(tag, document.createTextNode(text));
    turns.append(li);
    li.scrollIntoView({block: "nearest"});
    return li;
  }
  function showPartial(text) {
    if (!partialItem) { partialItem = addTurn("partial", text, T.heard + " …"); return; }
    partialItem.lastChild.textContent = text;
    partialItem.scrollIntoView({block: "nearest"});
  }
  function dropPartial() {
    if (partialItem) partialItem.remove();
    partialItem = null;
  }
  function setInCall(value) {
    inCall = value;
    $("hangup").disabled = !value;
    $("call").disabled = value;
    $("say").disabled = !value;
    $("say-send").disabled = !value;
    if (!value) { listening = null; root.dataset.listening = ""; dropPartial(); stopStream(); setBridged(false); }
  }
  function setBridged(value) {
    bridged = value;
    root.dataset.bridge = value ? "audio" : "";
    if (value) { remoteFrames = 0; root.dataset.remoteAudio = "0"; ensureMic(); } else { stopRemote(); }
  }

  // ---------------------------------------------------------------- audio
  function ensureAudio() {
    if (!ctx) ctx = new AudioContext();
    if (ctx.state === "suspended") ctx.resume();
  }
  function ulawToLinear(u) {
    u = ~u & 0xff;
    const sign = u & 0x80, exponent = (u >> 4) & 0x07, mantissa = u & 0x0f;
    const s = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    return (sign ? -s : s) / 32768;
  }
  function play(message) {
    if (!message.audio) return;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      playing = false;
      send({type: "played", id: message.id});
    };
    if (!ctx) { setTimeout(finish, atob(message.audio).length / 8); return; }
    const source = ulawSource(message.audio);
    source.onended = finish;
    playing = true;
    // a muted or stalled output never blocks the call (8 mu-law bytes per millisecond)
    setTimeout(finish, source.buffer.length / 8 + 1500);
    source.start();
  }
  // 8 kHz mu-law (base64) as a source ready to start on the page's audio context.
  function ulawSource(audio) {
    const bytes = atob(audio);
    const buffer = ctx.createBuffer(1, bytes.length, 8000);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < bytes.length; i++) data[i] = ulawToLinear(bytes.charCodeAt(i));
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    return source;
  }
  // Barge-in: the app plays its question over the stream; the microphone stays open and a
  // `stream_clear` (the caller started talking) stops whatever is still to be heard.
  function playStream(message) {
    if (!ctx || !message.audio) return;
    const source = ulawSource(message.audio), buffer = source.buffer;
    streamAt = Math.max(streamAt, ctx.currentTime);
    source.start(streamAt);
    streamAt += buffer.duration;
    streamSources.push(source);
    source.onended = () => { streamSources = streamSources.filter((s) => s !== source); };
    root.dataset.streamAudio = "playing";
  }
  function stopStream() {
    streamSources.forEach((source) => { try { source.stop(); } catch (error) { /* not started */ } });
    streamSources = [];
    streamAt = 0;
    root.dataset.streamAudio = "";
  }
  // The other page's voice, frame by frame: queued back to back after a small cushion for
  // network jitter; a frame that would be heard more than REMOTE_MAX_AHEAD late is dropped.
  function playRemote(message) {
    if (!ctx || !bridged || !message.audio) return;
    const now = ctx.currentTime;
    if (remoteAt < now) remoteAt = now + REMOTE_CUSHION;
    if (remoteAt - now > REMOTE_MAX_AHEAD) return;
    const source = ulawSource(message.audio);
    source.start(remoteAt);
    remoteAt += source.buffer.duration;
    remoteSources.push(source);
    source.onended = () => { remoteSources = remoteSources.filter((s) => s !== source); };
    remoteFrames += 1;
    root.dataset.remoteAudio = String(remoteFrames);
  }
  function stopRemote() {
    remoteSources.forEach((source) => { try { source.stop(); } catch (error) { /* not started */ } });
    remoteSources = [];
    remoteAt = 0;
  }
  async function ensureMic() {
    if (mic) return;
    mic = "opening";
    try {
      ensureAudio();
      const stream = await navigator.mediaDevices.getUserMedia({audio: {
        echoCancellation: true, noiseSuppression: false, autoGainControl: false}});
      await ctx.audioWorklet.addModule(root.dataset.worklet);
      const node = new AudioWorkletNode(ctx, "mic-capture");
      node.port.onmessage = (event) => {
        if (!inCall || playing || (listening !== "stream" && !bridged)) return;
        send({type: "audio", payload: btoa(String.fromCharCode(...event.data))});
      };
      const mute = ctx.createGain();
      mute.gain.value = 0;
      ctx.createMediaStreamSource(stream).connect(node);
      node.connect(mute).connect(ctx.destination);
      mic = stream;
      $("mic").textContent = T.mic;
      $("mic").classList.add("on");
      root.dataset.mic = "on";
    } catch (error) {
      mic = null;
      $("mic").textContent = T.micDenied;
      root.dataset.mic = "denied";
    }
  }

  // ---------------------------------------------------------------- the socket
  const handlers = {
    registered() {},
    connected(m) {
      setInCall(true);
      setState("in-call");
      root.dataset.callSid = m.call_sid;
      root.dataset.direction = m.direction || "";
      say(m.direction === "outbound-dial" ? T.talking : T.connected);
      if (m.direction === "outbound-dial") setBridged(true);  // a <Dial> leg: the other side talks
    },
    prompt(m) {
      setBridged(false);
      listening = null;
      root.dataset.listening = "";
      addTurn("app", m.text, T.hotline);
      play(m);
    },
    listening(m) {
      setBridged(false);
      listening = m.kind;
      root.dataset.listening = m.kind;
      if (m.kind === "stream") { say(T.listening); ensureMic(); } else { say(T.keys); }
    },
    partial(m) { if (m.text) showPartial(m.text); },
    stream_audio(m) { playStream(m); },
    stream_clear() { stopStream(); root.dataset.streamAudio = "cleared"; },
    recognised(m) {
      dropPartial();
      const text = m.text || (m.digits ? "(" + m.digits + ")" : "…");
      addTurn("recognised", text, T.heard + (m.text ? " " + Math.round(m.confidence * 100) + "%" : ""));
    },
    incoming(m) {
      $("incoming-from").textContent = m.from;
      $("incoming").hidden = false;
      setState("ringing");
      say(T.ringing);
    },
    ended(m) {
      $("incoming").hidden = true;
      setInCall(false);
      setState("ended");
      const outcome = (m.outcome || "").startsWith("transferred:") ? "→ " + m.outcome.slice(12)
        : outcomeText(m.outcome);
      root.dataset.outcome = m.outcome || "";
      say(T.ended + (outcome ? ": " + outcome : ""));
      addTurn("system", T.ended + (outcome ? " (" + outcome + ")" : ""));
    },
    bridged(m) { say(T.bridged + " " + m.to); setBridged(true); },
    remote(m) { addTurn("remote", m.text, T.other); },
    remote_audio(m) { playRemote(m); },
    error(m) { say(m.message); },
  };
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + root.dataset.socket);
    ws.onopen = () => { setState(root.dataset.state || "idle"); send({type: "register", number: $("from").value}); root.dataset.socketOpen = "1"; };
    ws.onmessage = (event) => { const m = JSON.parse(event.data); (handlers[m.type] || (() => {}))(m); };
    ws.onclose = () => { root.dataset.socketOpen = ""; if (inCall) handlers.ended({outcome: "error"}); say(T.offline); setTimeout(connect, 1500); };
  }

  // ---------------------------------------------------------------- the controls
  $("call").addEventListener("click", () => {
    ensureAudio();
    turns.replaceChildren();
    say(T.calling);
    setState("calling");
    send({type: "register", number: $("from").value});
    send({type: "dial", from: $("from").value, to: $("to").value});
  });
  $("hangup").addEventListener("click", () => send({type: "hangup"}));
  $("from").addEventListener("change", () => send({type: "register", number: $("from").value}));
  $("answer").addEventListener("click", () => {
    ensureAudio();
    turns.replaceChildren();
    $("incoming").hidden = true;
    send({type: "answer"});
  });
  $("decline").addEventListener("click", () => { $("incoming").hidden = true; send({type: "decline"}); });
  document.querySelectorAll(".keypad .key").forEach((button) => button.addEventListener("click", () => {
    const key = button.dataset.key;
    if (!inCall) { $("to").value += key; return; }
    addTurn("caller", "(" + key + ")", T.you);
    send({type: "digits", digits: key});
  }));
  $("say-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("say").value.trim();
    if (!text || !inCall) return;
    addTurn("caller", text, T.you);
    send({type: "say", text});
    $("say").value = "";
  });
  setState("idle");
  say(T.ready);
  connect();
})();
