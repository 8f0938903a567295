// The msme-rag chat page: a reconnecting WebSocket to /ws/chat, streamed answers with sources,
// an EN/TE toggle, voice questions (MediaRecorder -> audio_message) and spoken answers.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const els = {
    messages: $("messages"), input: $("input"), form: $("composer"), send: $("send"),
    mic: $("mic"), speaker: $("speaker"), status: $("status"), newChat: $("new-chat"),
    player: $("player"), langButtons: document.querySelectorAll("#lang-toggle button"),
  };
  const store = {
    get(key, fallback) { try { return localStorage.getItem(key) ?? fallback; } catch (e) { return fallback; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* private mode */ } },
  };
  const newSessionId = () =>
    (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^A-Za-z0-9-]/g, "");

  const state = {
    strings: { en: {}, te: {} },
    lang: store.get("msme.lang", "en") === "te" ? "te" : "en",
    speaker: store.get("msme.speaker", "off") === "on",
    sessionId: store.get("msme.session", "") || newSessionId(),
    socket: null,
    retryDelay: 500,
    retryTimer: null,
    pending: null,        // the bot bubble being streamed
    busy: false,
    voiceLanguages: ["en"],
    maxAudioSeconds: 60,
    recorder: null,
    welcome: null,
  };
  store.set("msme.session", state.sessionId);

  const t = (key) => state.strings[state.lang][key] || state.strings.en[key] || key;

  // UI strings ------------------------------------------------------------------------------
  function applyStrings() {
    document.documentElement.lang = state.lang;
    document.title = t("title");
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
    els.langButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang)));
    els.speaker.title = t(state.speaker ? "speaker_on" : "speaker_off");
    els.speaker.setAttribute("aria-pressed", String(state.speaker));
    document.querySelectorAll(".message .who").forEach((el) => { el.textContent = t(el.dataset.who); });
    document.querySelectorAll(".sources summary").forEach((el) => { el.textContent = t("sources"); });
    setStatus(els.status.dataset.state);
    updateMic();
  }

  function setStatus(which) {
    els.status.dataset.state = which;
    els.status.textContent = t({ open: "connected", closed: "reconnecting" }[which] || "connecting");
    const open = which === "open";
    els.send.disabled = !open || state.busy;
    updateMic();
  }

  function updateMic() {
    const supported = !!(navigator.mediaDevices && window.MediaRecorder);
    const open = els.status.dataset.state === "open";
    els.mic.disabled = !supported || !open || (state.busy && !state.recorder);
    els.mic.title = !supported ? t("mic_unavailable") : t(state.recorder ? "mic_stop" : "mic");
  }

  // Messages --------------------------------------------------------------------------------
  function bubble(kind, who, text) {
    const box = document.createElement("div");
    box.className = "message " + kind;
    if (who) {
      const label = document.createElement("span");
      label.className = "who"; label.dataset.who = who; label.textContent = t(who);
      box.appendChild(label);
    }
    const body = document.createElement("div");
    body.className = "text"; body.textContent = text || "";
    box.appendChild(body);
    els.messages.appendChild(box);
    els.messages.scrollTop = els.messages.scrollHeight;
    return box;
  }

  function showError(message) {
    bubble("error", "", message);
    finishPending();
  }

  function finishPending() {
    if (state.pending) {
      state.pending.classList.remove("pending");
      if (!state.pending.querySelector(".text").textContent) state.pending.remove();
    }
    state.pending = null;
    setBusy(false);
  }

  function setBusy(busy) {
    state.busy = busy;
    setStatus(els.status.dataset.state);
  }

  function startAnswer() {
    state.pending = bubble("bot pending", "assistant", "");
    state.pending.querySelector(".text").dataset.placeholder = t("thinking");
    setBusy(true);
  }

  function onToken(data) {
    if (!state.pending) startAnswer();
    const text = state.pending.querySelector(".text");
    text.textContent += data.token;
    els.messages.scrollTop = els.messages.scrollHeight;
  }

  function onResponse(data) {
    if (!state.pending) startAnswer();
    const box = state.pending;
    box.classList.remove("pending");
    box.classList.add("answered");
    if (data.refused) box.classList.add("refused");
    renderAnswer(box, data.answer, data.docs || []);
    if (data.audio_url) {
      const audio = document.createElement("audio");
      audio.controls = true; audio.src = data.audio_url; audio.preload = "auto";
      box.appendChild(audio);
      if (state.speaker) audio.play().catch(() => { /* autoplay blocked: the controls remain */ });
    }
    state.pending = null;
    setBusy(false);
    els.messages.scrollTop = els.messages.scrollHeight;
  }

  function renderAnswer(box, answer, docs) {
    const text = box.querySelector(".text");
    text.textContent = "";
    const details = docs.length ? sourceList(docs) : null;
    // Citations [n] become buttons that open source n.
    const parts = answer.split(/(\[\d+\])/);
    parts.forEach((part) => {
      const m = /^\[(\d+)\]$/.exec(part);
      if (m && details && docs[Number(m[1]) - 1]) {
        const cite = document.createElement("button");
        cite.type = "button"; cite.className = "cite"; cite.textContent = part;
        cite.addEventListener("click", () => openSource(details, Number(m[1]) - 1));
        text.appendChild(cite);
      } else {
        text.appendChild(document.createTextNode(part));
      }
    });
    if (details) box.appendChild(details);
  }

  function sourceList(docs) {
    const details = document.createElement("details");
    details.className = "sources";
    const summary = document.createElement("summary");
    summary.textContent = t("sources");
    details.appendChild(summary);
    const list = document.createElement("ol");
    docs.forEach((doc) => {
      const item = document.createElement("li");
      const link = document.createElement("button");
      link.type = "button"; link.className = "source";
      const page = doc.page ? ` (${t("page")} ${doc.page})` : "";
      link.textContent = (doc.title || doc.source || doc.doc_id) + page;
      const excerpt = document.createElement("div");
      excerpt.className = "excerpt"; excerpt.hidden = true; excerpt.textContent = doc.excerpt || "";
      link.addEventListener("click", () => { excerpt.hidden = !excerpt.hidden; });
      item.append(link, excerpt);
      list.appendChild(item);
    });
    details.appendChild(list);
    return details;
  }

  function openSource(details, index) {
    details.open = true;
    const item = details.querySelectorAll("li")[index];
    if (!item) return;
    item.querySelector(".excerpt").hidden = false;
    item.scrollIntoView({ block: "nearest" });
  }

  // WebSocket -------------------------------------------------------------------------------
  function connect() {
    clearTimeout(state.retryTimer);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/ws/chat?lang=${state.lang}&session_id=${encodeURIComponent(state.sessionId)}`;
    const socket = new WebSocket(url);
    state.socket = socket;
    setStatus("connecting");
    socket.onopen = () => { if (socket === state.socket) { state.retryDelay = 500; setStatus("open"); } };
    socket.onmessage = (event) => { if (socket === state.socket) dispatch(event.data); };
    socket.onclose = () => {
      if (socket !== state.socket) return;      // replaced on purpose (language switch)
      setStatus("closed");
      if (state.pending) finishPending();
      state.retryTimer = setTimeout(connect, state.retryDelay);
      state.retryDelay = Math.min(state.retryDelay * 2, 10000);
    };
  }

  function reconnect() {
    const old = state.socket;
    state.socket = null;
    if (old) old.close();
    connect();
  }

  function send(event, data) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify({ event, data }));
    return true;
  }

  function dispatch(raw) {
    let frame;
    try { frame = JSON.parse(raw); } catch (e) { return; }
    const data = frame.data || {};
    switch (frame.event) {
      case "welcome":
        if (!state.welcome) state.welcome = bubble("bot welcome", "assistant", data.message);
        else state.welcome.querySelector(".text").textContent = data.message;
        break;
      case "system":
        state.voiceLanguages = data.voice_languages || [];
        state.maxAudioSeconds = data.max_audio_seconds || 60;
        break;
      case "transcript": {
        // The answer bubble is already waiting: put what was heard above it.
        const heard = bubble("user voice", "you", data.text);
        if (state.pending) els.messages.insertBefore(heard, state.pending);
        break;
      }
      case "chat_token": onToken(data); break;
      case "chat_response": onResponse(data); break;
      case "error": showError(data.message || t("error")); break;
      default: break;
    }
  }

  // Typing ----------------------------------------------------------------------------------
  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = els.input.value.trim();
    if (!query || state.busy) return;
    if (!send("chat_message", { query, tts: state.speaker, session_id: state.sessionId })) return;
    bubble("user", "you", query);
    els.input.value = "";
    autoGrow();
    startAnswer();
  });
  els.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); els.form.requestSubmit(); }
  });
  function autoGrow() { els.input.style.height = "auto"; els.input.style.height = Math.min(els.input.scrollHeight, 140) + "px"; }
  els.input.addEventListener("input", autoGrow);

  // Voice -----------------------------------------------------------------------------------
  function pickMimeType() {
    const choices = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
    return choices.find((type) => MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(type)) || "";
  }

  async function startRecording() {
    let stream;
    try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); }
    catch (e) { showError(t("mic_unavailable")); return; }
    const mimeType = pickMimeType();
    const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
    const chunks = [];
    const started = performance.now();
    recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      clearTimeout(recorder.limitTimer);
      state.recorder = null;
      els.mic.classList.remove("recording");
      updateMic();
      const seconds = (performance.now() - started) / 1000;
      const blob = new Blob(chunks, { type: recorder.mimeType || mimeType || "audio/webm" });
      const reader = new FileReader();
      reader.onload = () => {
        const sent = send("audio_message", {
          audio: reader.result, audio_type: blob.type, audio_len: Math.round(seconds * 10) / 10,
          lang: state.lang, tts: state.speaker, session_id: state.sessionId,
        });
        if (sent) startAnswer();
      };
      reader.readAsDataURL(blob);
    };
    state.recorder = recorder;
    recorder.start();
    recorder.limitTimer = setTimeout(() => recorder.state === "recording" && recorder.stop(), state.maxAudioSeconds * 1000);
    els.mic.classList.add("recording");
    els.status.textContent = t("recording");
    updateMic();
  }

  els.mic.addEventListener("click", () => {
    if (state.recorder) { state.recorder.stop(); return; }
    if (!state.busy) startRecording();
  });

  // Toggles ---------------------------------------------------------------------------------
  els.langButtons.forEach((button) => button.addEventListener("click", () => {
    if (button.dataset.lang === state.lang) return;
    state.lang = button.dataset.lang;
    store.set("msme.lang", state.lang);
    applyStrings();
    reconnect();  // the server greets in the new language
  }));

  els.speaker.addEventListener("click", () => {
    state.speaker = !state.speaker;
    store.set("msme.speaker", state.speaker ? "on" : "off");
    applyStrings();
  });

  els.newChat.addEventListener("click", () => {
    state.sessionId = newSessionId();
    store.set("msme.session", state.sessionId);
    els.messages.textContent = "";
    state.welcome = null; state.pending = null;
    setBusy(false);
    reconnect();
  });

  // Start -----------------------------------------------------------------------------------
  fetch("/ui/chat/strings.json")
    .then((response) => response.json())
    .then((strings) => { state.strings = strings; })
    .catch(() => { /* the English text in the page stays */ })
    .finally(() => { applyStrings(); connect(); });
})();
