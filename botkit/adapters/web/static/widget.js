/* botkit web widget: one <script> tag, no build step, no dependencies.
 * Protocol: adapters/web/PROTOCOL.md. Bot text is only ever set with textContent. */
(() => {
  "use strict";
  if (window.__botkitWidget) return; // the tag pasted twice must not make two widgets
  window.__botkitWidget = true;

  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  const conf = Object.assign(
    { server: "", title: "", color: "#3b5bdb", locale: "", position: "right" },
    script ? script.dataset : {},
    window.BotkitWidget || {}
  );
  // data-server="" (or none) means the page's own origin; a path prefix keeps its slash
  const base = new URL(conf.server || "/", location.href);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const STRINGS = {
    ko: { title: "챗봇", open: "채팅 열기", close: "채팅 닫기", input: "메시지 입력", send: "보내기",
      sending: "보내는 중…", failed: "보내지 못했어요", typing: "답변을 쓰고 있어요", unread: "새 메시지",
      agent: "상담원" },
    en: { title: "Chat", open: "Open chat", close: "Close chat", input: "Your message", send: "Send",
      sending: "Sending…", failed: "Not sent", typing: "Typing", unread: "new messages",
      agent: "Agent" },
  };
  // the page's data-locale, else the browser's language ("en-US"): the bot answers in it when
  // it is one of the bot's locales, until the user switches in the conversation
  conf.locale = conf.locale || navigator.language || "ko";
  const T = STRINGS[conf.locale] || STRINGS[conf.locale.split("-")[0]] || STRINGS.ko;

  // -- small helpers ---------------------------------------------------------------------

  /** An element with attributes and children (strings become text nodes, never HTML). */
  function h(tag, attrs, kids) {
    const node = document.createElement(tag);
    for (const k in attrs || {}) {
      if (attrs[k] === false || attrs[k] == null) continue;
      if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    }
    (kids || []).forEach((kid) => {
      if (kid != null) node.append(kid);
    });
    return node;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID exists only on https and localhost; plain http pages still need ids
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function store(key, value) {
    try {
      if (value === undefined) return localStorage.getItem(key);
      localStorage.setItem(key, value);
    } catch (e) {} // storage blocked (private mode, iframes): the session lasts the page
    return value;
  }

  /** Only http(s) links: a bot's data must never run script through a javascript: URL. */
  function safeUrl(value) {
    try {
      const url = new URL(value, base);
      return /^https?:$/.test(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // -- state -------------------------------------------------------------------------------

  // the page's customer and the identity token its server made (data-customer, data-token):
  // sent with every hello, and with the first message over HTTP (`customer: null` when the page
  // names nobody: the server unlinks a visitor a token linked); the token is never stored
  const identity = conf.customer && conf.token ? { customer: conf.customer, token: conf.token } : { customer: null };
  // The visitor id opens its conversation, so it is kept with the customer it was used for: a
  // page for nobody or for someone else (they logged out; the next person at a shared computer
  // logged in) starts a new visitor, with no history. A visitor who logs in keeps theirs.
  const customer = identity.customer || "";
  const usedFor = store("botkit.customer") || "";
  let sid = store("botkit.sid");
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(sid || "") || (usedFor && usedFor !== customer)) {
    sid = store("botkit.sid", uuid());
  }
  if (usedFor !== customer) store("botkit.customer", customer);
  const outbox = new Map(); // client id -> {id, text, payload, node, sent}; until its reply
  const answered = new Set(); // replies already drawn: a reply delivered twice is drawn once
  let socket = null;
  let ready = false; // `welcome` received on the current socket
  let attempt = 0; // reconnect attempts since the last welcome (drives the backoff)
  let failures = 0; // sockets in a row that never opened; 3 → HTTP fallback
  let useHttp = false;
  let identitySent = false; // over HTTP
  let retryTimer = 0;
  let isOpen = false;
  let unread = 0;
  let started = false; // the conversation has bubbles (history or greeting)

  // -- the DOM -------------------------------------------------------------------------------

  const titleId = "bk-title-" + sid.slice(0, 8);
  const badge = h("span", { class: "bk-badge", "aria-hidden": "true", hidden: true });
  const launcher = h("button", {
    type: "button", class: "bk-launcher", "aria-label": T.open, "aria-expanded": "false",
    onclick: () => { setOpen(!isOpen); },
  }, [h("span", { class: "bk-icon", "aria-hidden": "true" }), badge]);
  const log = h("div", { class: "bk-log", role: "log", "aria-live": "polite", tabindex: "0" });
  const typing = h("div", { class: "bk-typing", hidden: true, role: "status", "aria-label": T.typing },
    [h("span"), h("span"), h("span")]);
  const input = h("input", {
    id: "bk-input-" + sid.slice(0, 8), class: "bk-input", type: "text", autocomplete: "off",
    enterkeyhint: "send", maxlength: "2000", onkeydown: onKey,
  });
  const form = h("form", { class: "bk-form", onsubmit: (e) => { e.preventDefault(); submit(); } }, [
    h("label", { class: "bk-sr", for: input.id, text: T.input }), input,
    h("button", { type: "submit", class: "bk-send", text: T.send }),
  ]);
  const dialog = h("div", {
    class: "bk-window", role: "dialog", "aria-labelledby": titleId, hidden: true,
    onkeydown: (e) => { if (e.key === "Escape") setOpen(false); },
  }, [
    h("div", { class: "bk-head" }, [
      h("h2", { id: titleId, class: "bk-title", text: conf.title || T.title }),
      h("button", { type: "button", class: "bk-close", "aria-label": T.close, text: "×",
        onclick: () => { setOpen(false); } }),
    ]),
    log, typing, form,
  ]);
  const root = h("div", { class: "bk-root bk-" + (conf.position === "left" ? "left" : "right") },
    [dialog, launcher]);
  root.style.setProperty("--bk-color", conf.color);
  root.style.setProperty("--bk-on-color", readableOn(conf.color));

  /** Black or white, whichever reads better on the theme colour (WCAG relative luminance). */
  function readableOn(color) {
    const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color || "");
    if (!m) return "#fff";
    const lum = [m[1], m[2], m[3]].reduce((sum, hex, i) => {
      let c = parseInt(hex, 16) / 255;
      c = c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      return sum + c * [0.2126, 0.7152, 0.0722][i];
    }, 0);
    return lum > 0.18 ? "#111" : "#fff";
  }

  function setOpen(open) {
    isOpen = open;
    dialog.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      unread = 0;
      showUnread();
      if (!started) greet();
      input.focus();
      log.scrollTop = log.scrollHeight;
    } else {
      launcher.focus();
    }
  }

  function showUnread() {
    badge.hidden = !unread;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    launcher.setAttribute("aria-label", unread ? T.open + " (" + T.unread + " " + unread + ")" : T.open);
  }

  // -- drawing messages ----------------------------------------------------------------------

  function add(node) {
    log.append(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  function bubble(from, text) {
    return add(h("div", { class: "bk-msg bk-" + from }, [
      from === "agent" ? h("span", { class: "bk-who", text: T.agent }) : null,
      h("p", { text: text }),
    ]));
  }

  /** A button of a card or a message: a link, a phone call, or something sent to the bot. */
  function actionButton(b) {
    const url = b.kind === "url" && safeUrl(b.value);
    if (url) return h("a", { class: "bk-btn", href: url, target: "_blank", rel: "noopener", text: b.label });
    if (b.kind === "phone")
      return h("a", { class: "bk-btn", href: "tel:" + String(b.value).replace(/[^0-9+]/g, ""), text: b.label });
    if (b.kind === "url") return null; // not http(s): not offered
    return h("button", { type: "button", class: "bk-btn",
      onclick: () => { send(b.label, b.value || null); }, text: b.label });
  }

  function image(img) {
    const src = img && safeUrl(img.url || img);
    return src ? h("img", { class: "bk-img", src: src, alt: img.alt || "", loading: "lazy" }) : null;
  }

  function card(c) {
    return h("div", { class: "bk-card" }, [
      image(c.image),
      h("div", { class: "bk-card-body" }, [
        c.title ? h("strong", { text: c.title }) : null,
        c.description ? h("p", { text: c.description }) : null,
      ]),
      h("div", { class: "bk-btns" }, (c.buttons || []).map(actionButton)),
    ]);
  }

  function list(l) {
    return h("div", { class: "bk-card bk-list" }, [
      l.header ? h("strong", { class: "bk-list-head", text: l.header }) : null,
      h("ul", {}, (l.items || []).map((item) => {
        const url = item.url && safeUrl(item.url);
        const label = [h("strong", { text: item.title }), item.description ? h("span", { text: item.description }) : null];
        const inner = url ? h("a", { href: url, target: "_blank", rel: "noopener" }, label)
          : item.payload ? h("button", { type: "button", onclick: () => { send(item.title, item.payload); } }, label)
          : h("div", {}, label);
        return h("li", {}, [image(item.image), inner]);
      })),
    ]);
  }

  /** One message of a `reply` or `agent` frame (PROTOCOL.md, "A message in messages"). */
  function drawMessage(m, from) {
    if (m.agent) from = "agent";
    if (m.text) bubble(from, m.text);
    const parts = [];
    if (m.image) parts.push(h("figure", { class: "bk-card" }, [image(m.image)]));
    if (m.card) parts.push(card(m.card));
    if (m.cards && m.cards.length) parts.push(h("div", { class: "bk-carousel" }, m.cards.map(card)));
    if (m.list) parts.push(list(m.list));
    if (m.buttons && m.buttons.length) parts.push(h("div", { class: "bk-btns" }, m.buttons.map(actionButton)));
    parts.forEach((p) => { add(h("div", { class: "bk-msg bk-rich bk-" + from }, [p])); });
    drawChoices(m.choices);
  }

  /** Quick replies: gone as soon as anything is sent. */
  function drawChoices(choices) {
    if (!choices || !choices.length) return;
    add(h("div", { class: "bk-choices", role: "group" }, choices.map((c) =>
      h("button", { type: "button", class: "bk-choice", text: c.label, onclick: () => send(c.label, c.payload) })
    )));
  }

  function drawMessages(messages, from) {
    (messages || []).forEach((m) => { drawMessage(m, from); });
    started = true;
    if (!isOpen) {
      unread += (messages || []).length;
      showUnread();
    }
  }

  function setTyping() {
    let waiting = false;
    outbox.forEach((item) => { waiting = waiting || item.sent; });
    typing.hidden = !waiting;
    if (waiting) log.scrollTop = log.scrollHeight;
  }

  /** The small "sending…" / "not sent" line under a user's bubble; null removes it. */
  function markPending(item, text) {
    if (!item.node) return; // the hidden greeting has no bubble
    let status = item.node.querySelector(".bk-status");
    if (!text) return status && status.remove();
    if (!status) item.node.append(status = h("span", { class: "bk-status" }));
    status.textContent = text;
  }

  // -- sending -------------------------------------------------------------------------------

  function onKey(e) {
    if (e.key !== "Enter") return;
    e.preventDefault(); // no implicit form submit: Enter that ends a Hangul syllable must not send
    if (e.isComposing || e.keyCode === 229) return;
    submit();
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text, null);
  }

  /** Show the user's words at once, keep them in the outbox until their reply arrives. */
  function send(text, payload, hidden) {
    log.querySelectorAll(".bk-choices").forEach((n) => { n.remove(); }); // answered
    const item = { id: uuid(), text: text, payload: payload || null, sent: false };
    item.node = hidden ? null : bubble("user", text);
    outbox.set(item.id, item);
    transmit(item);
    input.focus();
  }

  /** The first bot message of a new conversation: an empty message starts the flow. */
  function greet() {
    started = true;
    send("", null, true);
  }

  function transmit(item) {
    if (useHttp) return post(item);
    if (!ready) return markPending(item, T.sending); // queued; flushed after `welcome`
    socket.send(JSON.stringify({ type: "message", id: item.id, text: item.text, payload: item.payload || undefined }));
    item.sent = true;
    markPending(item, null);
    setTyping();
  }

  function post(item) {
    item.sent = true;
    setTyping();
    fetch(new URL("web/messages", base), {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign(
        { sid: sid, id: item.id, text: item.text, payload: item.payload || undefined, locale: conf.locale },
        identitySent ? {} : identity
      )),
    }).then((r) => {
      identitySent = true; // the server read it: once is enough
      return r.json();
    }).then((body) => {
      onFrame(body.error ? Object.assign({ type: "error", reply_to: item.id }, body.error) : body);
    }, () => {
      item.sent = false; // offline: the next reconnect attempt flushes it again
      markPending(item, T.sending);
      setTyping();
    });
  }

  /** Send what is not on its way: after `welcome`, and while on HTTP. */
  function flush() {
    outbox.forEach((item) => { if (!item.sent) transmit(item); });
  }

  // -- frames from the server ----------------------------------------------------------------

  function onFrame(f) {
    if (f.type === "welcome") {
      ready = true;
      attempt = failures = 0;
      useHttp = false;
      flush(); // the server de-duplicates by id: each message is answered exactly once
    } else if (f.type === "reply") {
      if (answered.has(f.reply_to)) return;
      answered.add(f.reply_to);
      const item = outbox.get(f.reply_to);
      outbox.delete(f.reply_to);
      if (item) markPending(item, null);
      drawMessages(f.messages, "bot");
      setTyping();
    } else if (f.type === "agent" || f.type === "bot") {
      drawMessages(f.messages, f.type); // pushed: an agent wrote, or the bot took the user back
    } else if (f.type === "typing") {
      typing.hidden = false;
    } else if (f.type === "error") {
      onError(f);
    }
  }

  function onError(f) {
    const item = outbox.get(f.reply_to);
    if (!item) return;
    if (f.code === "rate_limited" || f.code === "unavailable") {
      item.sent = false; // kept: sent again with the next flush (the server kept nothing of it)
      markPending(item, T.sending);
      setTimeout(flush, 1000 * (f.retry_after || 5));
    } else {
      outbox.delete(item.id);
      markPending(item, T.failed);
    }
    setTyping();
  }

  // -- the connection ------------------------------------------------------------------------

  function connect() {
    clearTimeout(retryTimer);
    if (socket) return;
    const url = new URL("web/ws", base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let opened = false;
    try {
      socket = new WebSocket(url);
    } catch (e) {
      return onClosed(false);
    }
    socket.onopen = () => {
      opened = true;
      socket.send(JSON.stringify(Object.assign({ type: "hello", sid: sid, locale: conf.locale }, identity)));
    };
    socket.onmessage = (e) => {
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch (err) {
        return; // a frame we cannot read is ignored, as the server does
      }
      onFrame(frame);
    };
    socket.onclose = () => { onClosed(opened); };
  }

  function onClosed(opened) {
    socket = null;
    ready = false;
    outbox.forEach((item) => {
      if (item.sent && !useHttp) { item.sent = false; markPending(item, T.sending); }
    });
    setTyping();
    failures = opened ? 0 : failures + 1;
    // WebSockets blocked (some proxies): HTTP until a socket works again
    if (failures >= 3) useHttp = true;
    if (useHttp) flush();
    // 0.5 s doubling to 10 s, waiting between half and all of it: the jitter keeps the
    // widgets of a restarted server from all reconnecting in the same instant
    const delay = Math.min(10000, 500 * Math.pow(2, attempt++));
    retryTimer = setTimeout(connect, delay / 2 + (Math.random() * delay) / 2);
  }

  setInterval(() => {
    if (ready) socket.send('{"type":"ping"}'); // keeps proxies from closing an idle socket
  }, 25000);
  window.addEventListener("online", () => { attempt = 0; connect(); });

  // -- start -------------------------------------------------------------------------------

  function history() {
    return fetch(new URL("web/history?sid=" + encodeURIComponent(sid), base))
      .then((r) => { return r.ok ? r.json() : { messages: [] }; })
      .then((body) => {
        // a bubble that was more than text is drawn as it was live; the last screen's quick
        // replies come back under it
        body.messages.forEach((m) => {
          if (m.bubble) drawMessage(m.bubble, m.from);
          else bubble(m.from, m.text);
        });
        drawChoices(body.choices);
        if (body.messages.length) started = true;
      }, () => {}); // no history is not fatal: the chat still works
  }

  function start() {
    document.head.append(h("link", { rel: "stylesheet", href: new URL("widget.css", script ? script.src : base).href }));
    document.body.append(root);
    history().then(connect);
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
  window.BotkitWidget = Object.assign(window.BotkitWidget || {}, {
    open: () => { setOpen(true); }, close: () => { setOpen(false); },
  });
})();
