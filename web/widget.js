/*
 * ALL follow-up assistant: the patient chat widget.
 *
 * Embed with one snippet (the widget loads its stylesheet and socket.io-client from where
 * widget.js came from):
 *
 *   <script src="http://localhost:8080/widget.js"></script>
 *   <script>
 *     ALLChat.mount({ serverUrl: "http://localhost:5005", token: "...or null",
 *                     hospitalName: "St Example's Hospital" });
 *   </script>
 *
 * Options: serverUrl (the Rasa server), token (the portal's signed token, or null for
 * anonymous), hospitalName, open (start opened), getToken (async function returning a fresh
 * token when the old one has expired), greet (ask the assistant to say hello first; true).
 *
 * Safety rules this file keeps:
 * - Bot and patient text is only ever put in the page with textContent; links are made for
 *   http(s) URLs only, as <a rel="noopener noreferrer" target="_blank">. No HTML parsing.
 * - The token goes only in socket.io's `auth` object: never in a URL, storage or a log.
 * - The transcript and the client session id live in sessionStorage (gone when the tab
 *   closes), in a namespace per server and patient, so a reload resumes the conversation.
 * - A message stays in the input until the server acknowledges it; while offline it waits
 *   in an outbox (also in sessionStorage) and is sent on reconnection.
 */
(function () {
  "use strict";

  var SCRIPT = document.currentScript;
  var BASE_URL = SCRIPT && SCRIPT.src ? new URL(".", SCRIPT.src).href : "/";
  var STORAGE_PREFIX = "allchat:v1:";
  var MAX_ITEMS = 200;
  var MAX_MESSAGE_CHARS = 2000;
  var ACK_TIMEOUT_MS = 10000;
  var RETRY_MS = 3000;
  // How long to wait after the server says "please slow down" (rate or queue limit).
  var SLOW_DOWN_RETRY_MS = 20000;
  var TYPING_TIMEOUT_MS = 60000;
  var GREETING_PAYLOAD = "/greet";
  var instanceCount = 0;
  var current = null;
  // The widget's words, from content/widget.yml: the web server writes them in here as it
  // serves this file (bot/apps/web.py), so they are reviewed with the assistant's replies.
  var TEXT = /*%%WIDGET_TEXT%%*/{};

  // The words for `key`, with {name} parts filled in from `fields`.
  function t(key, fields) {
    var text = Object.prototype.hasOwnProperty.call(TEXT, key) ? TEXT[key] : key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return fields && Object.prototype.hasOwnProperty.call(fields, name) ? String(fields[name]) : whole;
    });
  }

  // ---------------------------------------------------------------- small helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function srOnly(text) {
    return el("span", "allchat-sr-only", text);
  }

  function randomId(bytes) {
    var data = new Uint8Array(bytes || 18);
    window.crypto.getRandomValues(data);
    var text = "";
    for (var i = 0; i < data.length; i++) text += String.fromCharCode(data[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // FNV-1a: a short, stable storage-key part (not for security: storage is per tab).
  function shortHash(text) {
    var hash = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash.toString(36);
  }

  // Who the token is for, only to keep each patient's transcript apart in this tab. The
  // server verifies the token; nothing here is trusted for identity.
  function tokenSubject(token) {
    if (typeof token !== "string") return "";
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var claims = JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
      return typeof claims.sub === "string" ? claims.sub : "";
    } catch (e) {
      return "";
    }
  }

  function makeStore(namespace) {
    function key(name) {
      return STORAGE_PREFIX + namespace + ":" + name;
    }
    return {
      get: function (name, fallback) {
        try {
          var raw = window.sessionStorage.getItem(key(name));
          return raw === null ? fallback : JSON.parse(raw);
        } catch (e) {
          return fallback;
        }
      },
      set: function (name, value) {
        try {
          window.sessionStorage.setItem(key(name), JSON.stringify(value));
        } catch (e) {
          /* storage full or blocked: the chat still works, it just won't survive a reload */
        }
      },
      clear: function () {
        forgetStorage(STORAGE_PREFIX + namespace + ":");
      },
    };
  }

  function forgetStorage(prefix) {
    try {
      var doomed = [];
      for (var i = 0; i < window.sessionStorage.length; i++) {
        var name = window.sessionStorage.key(i);
        if (name && name.indexOf(prefix) === 0) doomed.push(name);
      }
      doomed.forEach(function (name) {
        window.sessionStorage.removeItem(name);
      });
    } catch (e) {
      /* nothing stored */
    }
  }

  function loadOnce(id, create) {
    var existing = document.getElementById(id);
    if (existing) return existing.allchatLoaded || Promise.resolve();
    var node = create();
    node.id = id;
    node.allchatLoaded = new Promise(function (resolve, reject) {
      node.addEventListener("load", function () {
        resolve();
      });
      node.addEventListener("error", function () {
        reject(new Error("could not load " + id));
      });
    });
    document.head.appendChild(node);
    return node.allchatLoaded;
  }

  function loadStyles() {
    return loadOnce("allchat-styles", function () {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = BASE_URL + "widget.css";
      return link;
    });
  }

  function loadSocketIo() {
    if (window.io) return Promise.resolve();
    return loadOnce("allchat-socketio", function () {
      var script = document.createElement("script");
      script.src = BASE_URL + "vendor/socket.io.min.js";
      return script;
    });
  }

  // Bot text as text nodes, with http(s) URLs as safe links. Never parses HTML.
  var URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
  var TRAILING = /[.,;:!?'")\]}]+$/;

  function appendTextWithLinks(parent, text) {
    var last = 0;
    var match;
    URL_PATTERN.lastIndex = 0;
    while ((match = URL_PATTERN.exec(text)) !== null) {
      var candidate = match[0];
      var trailing = candidate.match(TRAILING);
      if (trailing) candidate = candidate.slice(0, candidate.length - trailing[0].length);
      var url = null;
      try {
        url = new URL(candidate);
      } catch (e) {
        url = null;
      }
      if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) continue;
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = el("a", "allchat-link", candidate);
      link.href = url.href;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      link.appendChild(srOnly(" " + t("opens_in_new_tab")));
      parent.appendChild(link);
      last = match.index + candidate.length;
      URL_PATTERN.lastIndex = last;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function safeFilename(name) {
    var cleaned = typeof name === "string" ? name.replace(/[^A-Za-z0-9._-]+/g, "-") : "";
    cleaned = cleaned.replace(/^[.-]+/, "").slice(0, 80);
    if (!/\.ics$/i.test(cleaned)) cleaned = (cleaned || "appointment") + ".ics";
    return cleaned;
  }

  function itemText(item) {
    if (typeof item === "string") return item;
    if (item && typeof item === "object") {
      var parts = [item.title, item.text, item.label, item.detail].filter(function (part) {
        return typeof part === "string" && part;
      });
      return parts.join(": ");
    }
    return "";
  }

  // ---------------------------------------------------------------- the widget

  function Widget(options) {
    this.options = options;
    this.id = "allchat-" + ++instanceCount;
    this.token = typeof options.token === "string" && options.token ? options.token : null;
    var namespace = shortHash(options.serverUrl) + ":" + shortHash(tokenSubject(this.token) || "anonymous");
    this.store = makeStore(namespace);
    this.items = this.store.get("items", []);
    this.outbox = this.store.get("outbox", []);
    this.sessionId = this.store.get("session", null) || randomId(24);
    this.state = this.store.get("state", { open: !!options.open, greeted: false });
    if (options.open) this.state.open = true;
    this.socket = null;
    this.sessionReady = false;
    this.auth = null;
    this.inflight = {};
    this.awaiting = {};
    this.blobUrls = [];
    this.destroyed = false;
    this.expired = false;
    this.ioReady = false;
    this.renewedOnce = false;
    this.typingTimer = null;
    this.retryTimer = null;
    this.build();
    this.renderAll();
    this.setOpen(this.state.open, false);
    this.setStatus("connecting");
  }

  Widget.prototype.persist = function () {
    if (this.items.length > MAX_ITEMS) this.items = this.items.slice(-MAX_ITEMS);
    this.store.set("items", this.items);
    this.store.set("outbox", this.outbox);
    this.store.set("session", this.sessionId);
    this.store.set("state", this.state);
  };

  Widget.prototype.build = function () {
    var self = this;
    var root = el("div", "allchat");
    root.setAttribute("data-allchat", "");

    var launcher = el("button", "allchat-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-controls", this.id + "-panel");
    launcher.setAttribute("aria-expanded", "false");
    var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    icon.setAttribute("class", "allchat-launcher-icon");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    icon.appendChild(path);
    launcher.appendChild(icon);
    launcher.appendChild(el("span", "allchat-launcher-text", t("launcher")));
    launcher.addEventListener("click", function () {
      self.setOpen(true, true);
    });

    var panel = el("section", "allchat-panel");
    panel.id = this.id + "-panel";
    panel.setAttribute("aria-labelledby", this.id + "-title");
    panel.hidden = true;
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        self.setOpen(false, true);
      }
    });

    var header = el("header", "allchat-header");
    var heading = el("div", "allchat-heading");
    var title = el("h2", "allchat-title", t("title"));
    title.id = this.id + "-title";
    heading.appendChild(title);
    if (this.options.hospitalName) {
      heading.appendChild(el("p", "allchat-hospital", this.options.hospitalName));
    }
    var close = el("button", "allchat-close");
    close.type = "button";
    close.setAttribute("aria-label", t("close"));
    close.appendChild(el("span", "allchat-close-mark", "\u00d7"));
    close.lastChild.setAttribute("aria-hidden", "true");
    close.addEventListener("click", function () {
      self.setOpen(false, true);
    });
    header.appendChild(heading);
    header.appendChild(close);

    var notice = el("div", "allchat-notice");
    notice.id = this.id + "-notice";
    var noticeText = el("p", "allchat-notice-text");
    noticeText.appendChild(el("strong", null, t("notice_bot") + " "));
    noticeText.appendChild(document.createTextNode(t("notice_emergency")));
    notice.appendChild(noticeText);
    this.identity = el("p", "allchat-identity");
    notice.appendChild(this.identity);

    var log = el("div", "allchat-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions");
    log.setAttribute("aria-label", t("conversation_label"));
    log.tabIndex = 0;

    var typing = el("div", "allchat-typing");
    typing.hidden = true;
    typing.setAttribute("aria-hidden", "true");
    var dots = el("span", "allchat-dots");
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    typing.appendChild(dots);
    typing.appendChild(el("span", "allchat-typing-text", t("typing")));

    var status = el("p", "allchat-status");
    status.setAttribute("role", "status");

    var form = el("form", "allchat-form");
    form.noValidate = true;
    var label = el("label", "allchat-label", t("input_label"));
    label.htmlFor = this.id + "-input";
    var row = el("div", "allchat-row");
    var input = el("textarea", "allchat-input");
    input.id = this.id + "-input";
    input.rows = 2;
    input.maxLength = MAX_MESSAGE_CHARS;
    input.autocomplete = "off";
    input.setAttribute("aria-describedby", this.id + "-hint");
    input.value = this.store.get("draft", "");
    var send = el("button", "allchat-send", t("send"));
    send.type = "submit";
    var hint = el("p", "allchat-hint", t("hint"));
    hint.id = this.id + "-hint";
    row.appendChild(input);
    row.appendChild(send);
    form.appendChild(label);
    form.appendChild(row);
    form.appendChild(hint);
    input.addEventListener("input", function () {
      self.store.set("draft", input.value);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.submitTyped();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.submitTyped();
    });

    panel.appendChild(header);
    panel.appendChild(notice);
    panel.appendChild(log);
    panel.appendChild(typing);
    panel.appendChild(status);
    panel.appendChild(form);
    root.appendChild(launcher);
    root.appendChild(panel);

    this.root = root;
    this.launcher = launcher;
    this.panel = panel;
    this.log = log;
    this.typing = typing;
    this.statusLine = status;
    this.input = input;
  };

  Widget.prototype.attach = function () {
    document.body.appendChild(this.root);
  };

  Widget.prototype.setOpen = function (open, moveFocus) {
    this.state.open = !!open;
    this.panel.hidden = !open;
    this.root.classList.toggle("allchat--open", !!open);
    this.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    this.launcher.hidden = !!open;
    this.persist();
    if (open) {
      this.ensureConnected();
      this.scrollToEnd();
      if (moveFocus) this.input.focus();
    } else if (moveFocus) {
      this.launcher.focus();
    }
  };

  // ---------------------------------------------------------------- rendering

  Widget.prototype.renderAll = function () {
    // Built before the widget is in the page, so restored messages aren't re-announced.
    this.log.textContent = "";
    var lastUser = -1;
    for (var i = 0; i < this.items.length; i++) if (this.items[i].from === "user") lastUser = i;
    for (var j = 0; j < this.items.length; j++) {
      this.log.appendChild(this.renderItem(this.items[j], j > lastUser));
    }
    this.renderIdentity();
  };

  Widget.prototype.renderItem = function (item, showReplies) {
    var self = this;
    var row = el("div", "allchat-msg allchat-msg--" + (item.from === "user" ? "user" : "bot"));
    row.setAttribute("data-id", item.id);
    var bubble = el("div", "allchat-bubble");
    bubble.appendChild(srOnly(t(item.from === "user" ? "you_said" : "assistant_said") + " "));
    if (item.from === "user") {
      bubble.appendChild(el("span", "allchat-text", item.text));
      if (item.pending) {
        var mark = el("span", "allchat-pending", t(this.isOnline() ? "sending" : "waiting_to_send"));
        mark.setAttribute("aria-hidden", "true");
        bubble.appendChild(mark);
        row.classList.add("allchat-msg--pending");
      }
    } else {
      if (typeof item.text === "string" && item.text) {
        var text = el("span", "allchat-text");
        appendTextWithLinks(text, item.text);
        bubble.appendChild(text);
      }
      if (item.custom) this.renderCustom(bubble, item.custom, row);
    }
    row.appendChild(bubble);
    var replies = Array.isArray(item.replies) ? item.replies : [];
    if (item.from !== "user" && showReplies && replies.length) {
      var group = el("div", "allchat-replies");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", t("suggested_replies"));
      replies.forEach(function (reply) {
        var button = el("button", "allchat-reply", reply.title);
        button.type = "button";
        button.addEventListener("click", function () {
          self.submit(reply.title, reply.payload, false);
        });
        group.appendChild(button);
      });
      row.appendChild(group);
    }
    return row;
  };

  Widget.prototype.renderCustom = function (bubble, custom, row) {
    var self = this;
    if (custom.type === "calendar" && typeof custom.ics === "string") {
      var filename = safeFilename(custom.filename);
      var blob = new Blob([custom.ics], { type: "text/calendar;charset=utf-8" });
      var url = URL.createObjectURL(blob);
      this.blobUrls.push(url);
      var link = el("a", "allchat-download", t("download_calendar", { filename: filename }));
      link.href = url;
      link.download = filename;
      bubble.appendChild(link);
    } else if (custom.type === "printable" && Array.isArray(custom.items)) {
      var card = el("div", "allchat-printable");
      var heading = el("h3", "allchat-printable-title", custom.title || t("list_title"));
      card.appendChild(heading);
      var list = el("ul", "allchat-printable-list");
      custom.items.forEach(function (entry) {
        var text = itemText(entry);
        if (text) list.appendChild(el("li", null, text));
      });
      card.appendChild(list);
      var print = el("button", "allchat-print", t("print_list"));
      print.type = "button";
      print.appendChild(srOnly(": " + (custom.title || t("list_title_in_sentence"))));
      print.addEventListener("click", function () {
        self.printCard(row);
      });
      card.appendChild(print);
      bubble.appendChild(card);
    }
  };

  Widget.prototype.printCard = function (row) {
    var html = document.documentElement;
    html.classList.add("allchat-print-mode");
    row.classList.add("allchat-printing");
    var done = function () {
      html.classList.remove("allchat-print-mode");
      row.classList.remove("allchat-printing");
      window.removeEventListener("afterprint", done);
    };
    window.addEventListener("afterprint", done);
    window.print();
    // Browsers whose print() returns before printing still fire afterprint; the rest are done.
    setTimeout(done, 1000);
  };

  Widget.prototype.renderIdentity = function () {
    var keys = { verified: "signed_in", anonymous: "not_signed_in", rejected: "sign_in_rejected" };
    this.identity.textContent = t(keys[this.auth] || "connecting");
  };

  Widget.prototype.clearReplies = function () {
    var groups = this.log.querySelectorAll(".allchat-replies");
    var hadFocus = false;
    for (var i = 0; i < groups.length; i++) {
      if (groups[i].contains(document.activeElement)) hadFocus = true;
      groups[i].parentNode.removeChild(groups[i]);
    }
    if (hadFocus) this.input.focus();
  };

  Widget.prototype.addItem = function (item) {
    if (item.from === "user") this.clearReplies();
    this.items.push(item);
    this.persist();
    this.log.appendChild(this.renderItem(item, true));
    this.scrollToEnd();
  };

  Widget.prototype.refreshItem = function (item) {
    var old = this.log.querySelector('[data-id="' + item.id + '"]');
    if (old) old.parentNode.replaceChild(this.renderItem(item, false), old);
  };

  Widget.prototype.scrollToEnd = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  Widget.prototype.showTyping = function (show) {
    var self = this;
    clearTimeout(this.typingTimer);
    this.typing.hidden = !show;
    if (show) {
      this.typingTimer = setTimeout(function () {
        self.awaiting = {};
        self.typing.hidden = true;
      }, TYPING_TIMEOUT_MS);
    }
  };

  Widget.prototype.isOnline = function () {
    return !!(this.socket && this.socket.connected && this.sessionReady);
  };

  Widget.prototype.setStatus = function (state) {
    var shown = { connecting: 1, reconnecting: 1, expired: 1, unavailable: 1 };
    this.root.setAttribute("data-status", state);
    // The live region stays in the page (CSS collapses it when empty) so changes are announced.
    this.statusLine.textContent = Object.prototype.hasOwnProperty.call(shown, state) ? t(state) : "";
  };

  // ---------------------------------------------------------------- sending

  Widget.prototype.submitTyped = function () {
    var text = this.input.value.replace(/\u0000/g, "").trim();
    if (!text) {
      this.input.focus();
      return;
    }
    var alreadyWaiting = this.outbox.some(function (entry) {
      return entry.typed && entry.message === text;
    });
    if (alreadyWaiting) return;
    this.submit(text, text, true);
  };

  Widget.prototype.submit = function (shown, message, typed) {
    if (this.destroyed) return;
    var id = "m-" + randomId(12);
    this.addItem({ id: id, from: "user", text: shown, pending: true });
    this.outbox.push({ id: id, message: message, typed: !!typed });
    this.persist();
    if (!this.isOnline()) this.setStatus(this.expired ? "expired" : "reconnecting");
    this.flush();
  };

  Widget.prototype.flush = function () {
    var self = this;
    if (!this.isOnline()) return;
    this.outbox.forEach(function (entry) {
      if (self.inflight[entry.id]) return;
      self.inflight[entry.id] = true;
      self.socket
        .timeout(ACK_TIMEOUT_MS)
        .emit("user_uttered", { message: entry.message, message_id: entry.id }, function (err, reply) {
          delete self.inflight[entry.id];
          if (!err && reply && reply.ok) {
            self.delivered(entry, !!reply.duplicate);
          } else if (!self.destroyed && reply && (reply.error === "rate_limited" || reply.error === "queue_full")) {
            // The server asked us to slow down: say so (once per pause) and try again later.
            if (!self.slowedDown && typeof reply.text === "string") {
              self.slowedDown = true;
              self.addItem({ id: "b-" + randomId(9), from: "bot", text: reply.text, replies: [] });
            }
            clearTimeout(self.retryTimer);
            self.retryTimer = setTimeout(function () {
              self.slowedDown = false;
              self.flush();
            }, SLOW_DOWN_RETRY_MS);
          } else if (!self.destroyed && !(reply && reply.error === "session_expired")) {
            clearTimeout(self.retryTimer);
            self.retryTimer = setTimeout(function () {
              self.flush();
            }, RETRY_MS);
          }
        });
    });
  };

  // `duplicate`: the server had it already (sent before a reload), so no answer follows here.
  Widget.prototype.delivered = function (entry, duplicate) {
    this.outbox = this.outbox.filter(function (other) {
      return other.id !== entry.id;
    });
    for (var i = 0; i < this.items.length; i++) {
      if (this.items[i].id === entry.id && this.items[i].pending) {
        this.items[i].pending = false;
        this.refreshItem(this.items[i]);
      }
    }
    if (entry.typed && this.input.value.trim() === entry.message) {
      this.input.value = "";
      this.store.set("draft", "");
    }
    this.persist();
    if (duplicate) return;
    this.awaiting[entry.id] = true;
    this.showTyping(true);
  };

  Widget.prototype.receive = function (message) {
    if (!message || typeof message !== "object") return;
    var replies = message.quick_replies || message.buttons || [];
    var cleanReplies = (Array.isArray(replies) ? replies : [])
      .filter(function (reply) {
        return reply && typeof reply.title === "string" && typeof reply.payload === "string";
      })
      .map(function (reply) {
        return { title: reply.title, payload: reply.payload };
      });
    var custom = message.custom && typeof message.custom === "object" ? message.custom : null;
    var text = typeof message.text === "string" ? message.text : "";
    if (!text && !custom) return;
    this.addItem({ id: "b-" + randomId(9), from: "bot", text: text, replies: cleanReplies, custom: custom });
  };

  Widget.prototype.turnDone = function (data) {
    var id = data && data.message_id;
    if (id) delete this.awaiting[id];
    if (!id || Object.keys(this.awaiting).length === 0) {
      this.awaiting = {};
      this.showTyping(false);
    }
  };

  // ---------------------------------------------------------------- the connection

  // Connect once socket.io-client is loaded and the chat is wanted: opened, or holding a
  // conversation or queued messages. A page where the chat is never opened opens no socket.
  Widget.prototype.ensureConnected = function () {
    if (this.socket || !this.ioReady || this.destroyed) return;
    if (this.state.open || this.items.length || this.outbox.length) this.connect();
  };

  Widget.prototype.connect = function () {
    var self = this;
    var socket = window.io(this.options.serverUrl, {
      path: this.options.socketPath || "/socket.io",
      // The only place the token goes: socket.io's auth packet, read again on each reconnect.
      auth: function (callback) {
        callback(self.token ? { token: self.token } : {});
      },
      // WebSocket first; long-polling if a proxy blocks it.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 10000,
    });
    this.socket = socket;

    socket.on("connect", function () {
      self.sessionReady = false;
      socket.emit("session_request", { session_id: self.sessionId });
    });
    socket.on("session_confirm", function (data) {
      var confirmed = data && typeof data === "object" ? data.session_id : data;
      if (typeof confirmed === "string" && confirmed) self.sessionId = confirmed;
      self.auth = data && typeof data === "object" ? data.auth : null;
      if (self.auth === "rejected" && typeof self.options.getToken === "function" && !self.renewedOnce) {
        // A stale token (e.g. a page reloaded long after sign-in): ask the page for a new one.
        self.renewedOnce = true;
        socket.disconnect();
        self.renewAfterExpiry();
        return;
      }
      self.sessionReady = true;
      self.expired = false;
      self.renderIdentity();
      self.setStatus("online");
      self.refreshPending();
      self.persist();
      if (!self.state.greeted && self.items.length === 0 && self.options.greet !== false) {
        self.state.greeted = true;
        self.outbox.unshift({ id: "g-" + randomId(9), message: GREETING_PAYLOAD, typed: false });
        self.persist();
      }
      self.flush();
    });
    socket.on("bot_uttered", function (message) {
      self.receive(message);
    });
    socket.on("bot_turn_done", function (data) {
      self.turnDone(data);
    });
    socket.on("session_expired", function () {
      self.expired = true;
    });
    socket.on("disconnect", function (reason) {
      self.sessionReady = false;
      self.inflight = {};
      self.awaiting = {};
      self.showTyping(false);
      self.refreshPending();
      if (self.destroyed) return;
      if (reason === "io server disconnect") {
        self.renewAfterExpiry();
      } else {
        self.setStatus("reconnecting");
      }
    });
    socket.on("connect_error", function () {
      if (self.destroyed) return;
      self.setStatus("reconnecting");
      if (!socket.active) {
        setTimeout(function () {
          if (!self.destroyed) socket.connect();
        }, RETRY_MS);
      }
    });
  };

  Widget.prototype.renewAfterExpiry = function () {
    var self = this;
    var getToken = this.options.getToken;
    if (typeof getToken !== "function") {
      this.expired = true;
      this.setStatus("expired");
      return;
    }
    this.setStatus("reconnecting");
    Promise.resolve()
      .then(function () {
        return getToken();
      })
      .then(function (token) {
        if (self.destroyed) return;
        if (typeof token !== "string" || !token) throw new Error("no token");
        self.token = token;
        self.expired = false;
        self.setStatus("connecting");
        self.socket.connect();
      })
      .catch(function () {
        if (self.destroyed) return;
        if (self.auth === "rejected") {
          // No new token: carry on with general information rather than nothing.
          self.socket.connect();
          return;
        }
        self.expired = true;
        self.setStatus("expired");
      });
  };

  Widget.prototype.refreshPending = function () {
    for (var i = 0; i < this.items.length; i++) {
      if (this.items[i].pending) this.refreshItem(this.items[i]);
    }
  };

  Widget.prototype.destroy = function (options) {
    this.destroyed = true;
    clearTimeout(this.typingTimer);
    clearTimeout(this.retryTimer);
    if (this.socket) {
      this.socket.off();
      this.socket.disconnect();
    }
    this.blobUrls.forEach(function (url) {
      URL.revokeObjectURL(url);
    });
    if (this.root.parentNode) this.root.parentNode.removeChild(this.root);
    if (options && options.forget) this.store.clear();
  };

  // ---------------------------------------------------------------- public API

  window.ALLChat = {
    /** Show the widget on the page (replacing one already there). Returns a handle. */
    mount: function (options) {
      options = options || {};
      if (typeof options.serverUrl !== "string" || !/^https?:\/\//.test(options.serverUrl)) {
        throw new Error("ALLChat.mount needs serverUrl, e.g. http://localhost:5005");
      }
      if (current) current.destroy();
      var widget = new Widget(options);
      current = widget;
      var start = function () {
        if (widget.destroyed) return;
        widget.attach();
        loadSocketIo().then(
          function () {
            widget.ioReady = true;
            widget.ensureConnected();
          },
          function () {
            widget.setStatus("unavailable");
          }
        );
      };
      var styled = loadStyles().catch(function () {});
      // Show the widget once styled, so it never flashes unstyled.
      if (document.body) styled.then(start);
      else document.addEventListener("DOMContentLoaded", function () {
        styled.then(start);
      });
      return {
        open: function () {
          widget.setOpen(true, true);
        },
        close: function () {
          widget.setOpen(false, true);
        },
        destroy: function (opts) {
          widget.destroy(opts);
          if (current === widget) current = null;
        },
      };
    },
    /** Whether a widget is on the page. */
    isMounted: function () {
      return current !== null;
    },
    /** Open the chat (and move focus into it). */
    open: function () {
      if (current) current.setOpen(true, true);
    },
    /** Remove the widget; with {forget: true} also its transcript in this tab. */
    destroy: function (opts) {
      if (current) current.destroy(opts);
      current = null;
    },
    /** Forget every conversation this tab stored (e.g. when the patient signs out). */
    forget: function () {
      forgetStorage(STORAGE_PREFIX);
    },
  };
})();
