/* The terminal page of the built-in gateway: xterm.js on a WebSocket.
 *
 * The page holds no secret. The lab page that frames it (or opened it in a
 * window of its own) hands it a single-use ticket by postMessage when it
 * asks for one; the gateway redeems it and bridges the socket to the lab's
 * SSH session. When the lab is paused the gateway closes the socket; the
 * page shows "Reconnecting..." and asks for a new ticket until the lab is
 * back, and finds the same shell. A lab's login reattaches to its session and
 * repaints it (screen -xRR), so every session starts on a reset terminal:
 * what the old one showed would show twice. What the learner types while
 * there is no session is kept (up to PENDING_MAX bytes) and sent once the
 * next one is ready; what cannot be kept, or cannot be sent because no session
 * will open, is refused in words. A page with no lab page to ask (opened on
 * its own), or whose lab page does not answer, says so and how to open the
 * terminal. The learner's input here (keys, clicks,
 * the wheel) is reported to the lab page as activity, so a learner at work is
 * never taken for idle; nothing else is (see learnerInput). A button, first
 * in the tab order, turns xterm's screen reader mode on and off.
 *
 * Only lab pages are talked with: of this page's own origin, or of one the
 * gateway names (data-origins). A stranger's page that opens this one gets
 * no message from it, and what it sends is ignored.
 *
 * The gateway takes messages of data-max-message bytes at most: a paste is
 * sent in parts of that size, and one over data-max-paste is not sent.
 */
(function () {
  "use strict";

  var box = document.querySelector(".hxl-terminal");
  var stateBox = document.querySelector(".hxl-state");
  // The operator's looks: Guacamole's colour scheme names (foreground-background).
  var SCHEMES = {
    "black-white": {foreground: "#000000", background: "#ffffff", cursor: "#000000"},
    "gray-black": {foreground: "#999999", background: "#000000"},
    "green-black": {foreground: "#00ff00", background: "#000000"},
    "white-black": {foreground: "#ffffff", background: "#000000"}
  };
  var fontName = box.getAttribute("data-font-name");
  var fontSize = parseInt(box.getAttribute("data-font-size"), 10);
  var screenReaderButton = document.querySelector(".hxl-screen-reader");
  // The learner's choice, kept in this browser for the next terminal.
  var SCREEN_READER_KEY = "hastexo-lab-terminal-screen-reader";
  var term = new window.Terminal({
    cursorBlink: true, scrollback: 5000, screenReaderMode: remembered(SCREEN_READER_KEY) === "on",
    // Points, as Guacamole counts them; CSS pixels here.
    fontSize: fontSize ? Math.round(fontSize * 4 / 3) : 14,
    fontFamily: (fontName ? "'" + fontName + "', " : "") + "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
    theme: SCHEMES[box.getAttribute("data-scheme")] || {}
  });
  var fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  // For tests and debugging: the terminal and its buffer.
  window.hastexoLabTerminal = term;

  var encoder = new TextEncoder();
  var socket = null;
  // The socket's session is ready: bytes go to the lab.
  var live = false;
  // Typed while there was no session: sent when the next one is ready.
  var PENDING_MAX = 4096;
  var pending = [];
  var pendingBytes = 0;
  // When the page began asking for a ticket, and last heard from its lab page.
  var askingSince = null;
  var lastHeard = 0;
  var NO_ANSWER_AFTER = 10000;
  var state = "connecting";
  var stateText = "";
  var askTimer = null;
  var noticeTimer = null;
  var lastActivity = 0;
  // Sockets closed in a row before the terminal was ready: each waits longer
  // before the next try, so a busy gateway is not asked every second.
  var failures = 0;
  var MAX_MESSAGE = parseInt(box.getAttribute("data-max-message"), 10) || 65536;
  var MAX_PASTE = parseInt(box.getAttribute("data-max-paste"), 10) || 1048576;
  var labOrigins = [window.location.origin].concat(
    (box.getAttribute("data-origins") || "").split(/\s+/).filter(function (origin) { return origin; }));
  // The lab page's origin, once known: the only one this page sends to.
  var ownerOrigin = null;

  var ALONE = "This terminal opens from its lab's unit in the course, and no lab page is here to open it. " +
    "Open the unit in the course to connect to your lab.";
  var NO_ANSWER = "The lab page does not answer, so the terminal cannot connect. Open the terminal again from " +
    "its lab's unit in the course (reload the unit if it is open).";
  var UNREACHABLE = "The terminal's server did not take the connection (it may be restarting, or not be set up " +
    "for this site). Trying again... If this goes on, please tell the course team.";
  var KEPT = "What you type meanwhile is sent once the terminal is connected.";
  var DROPPED = "What you typed meanwhile was not sent.";
  var NOT_CONNECTED = "Not sent: the terminal is not connected.";
  var TOO_MUCH = "Not sent: until it is connected, the terminal keeps " + Math.floor(PENDING_MAX / 1024) +
    " KB of typing at most.";

  function owner() {
    if (window.opener && !window.opener.closed) { return window.opener; }
    return window.parent !== window ? window.parent : null;
  }

  // Where the owner's origin can be read: a page of this origin, a frame's
  // parent in browsers that list a frame's ancestors. Else null until the
  // owner has answered from a lab origin.
  function knownOrigin(target) {
    if (ownerOrigin) { return ownerOrigin; }
    try {
      if (target.location.origin === window.location.origin) { return window.location.origin; }
    } catch (e) { /* another origin */ }
    var ancestors = window.location.ancestorOrigins;
    if (target === window.parent && ancestors && ancestors.length && labOrigins.indexOf(ancestors[0]) >= 0) {
      return ancestors[0];
    }
    return null;
  }

  // Nothing secret goes this way: requests, activity and state; still, none
  // of it to a stranger's page.
  function tell(message) {
    var target = owner();
    if (!target) { return; }
    var origin = knownOrigin(target);
    if (origin) {
      target.postMessage(message, origin);
    } else if (message.type === "hastexo-lab:need-ticket") {
      // The browser delivers each only where the owner's origin is the one named.
      labOrigins.forEach(function (labOrigin) { target.postMessage(message, labOrigin); });
    }
  }

  function showText(text) {
    stateBox.textContent = text || "";
    stateBox.hidden = !text;
  }

  function showState() {
    showText(pendingBytes ? (stateText ? stateText + " " : "") + KEPT : stateText);
  }

  // The same again (the lab page's word on every request) leaves a notice up.
  function setState(kind, text) {
    if (kind === state && (text || "") === stateText) { return; }
    state = kind;
    stateText = text || "";
    clearTimeout(noticeTimer);
    document.body.setAttribute("data-state", kind);
    showState();
    tell({type: "hastexo-lab:state", state: kind});
  }

  // No session will open for what was typed: it is dropped, in words.
  function giveUp(kind, text) {
    var dropped = pendingBytes > 0;
    pending = [];
    pendingBytes = 0;
    setState(kind, dropped ? (text ? text + " " : "") + DROPPED : text);
  }

  // A passing word (a paste not sent), then the state's own text again.
  function notice(text) {
    showText(text);
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(showState, 6000);
  }

  function tooLarge(limit) {
    return "That paste is too large (" + Math.floor(limit / 1024) + " KB at most).";
  }

  function askForTicket() {
    clearTimeout(askTimer);
    if (socket) { return; }
    if (!owner()) {
      // Opened on its own (a bookmark, a copied address), or its lab page
      // has been closed: nobody will hand it a ticket.
      giveUp("error", ALONE);
      return;
    }
    var now = Date.now();
    if (askingSince === null) { askingSince = now; }
    if (now - Math.max(askingSince, lastHeard) >= NO_ANSWER_AFTER && state !== "error") {
      // Not a lab page (a stranger's), or one that no longer knows this
      // window (its tab went on to another page). Asking goes on, in case.
      giveUp("error", NO_ANSWER);
    }
    tell({type: "hastexo-lab:need-ticket"});
    // Until one comes (the lab may be paused): ask again now and then.
    askTimer = setTimeout(askForTicket, 3000);
  }

  function connect(ticket) {
    if (socket) { return; }
    clearTimeout(askTimer);
    askingSince = null;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + box.getAttribute("data-socket");
    var ws = new WebSocket(url);
    var retry = true;
    var opened = false;
    var ready = false;
    var retryAfter = 0;
    ws.binaryType = "arraybuffer";
    socket = ws;
    ws.onopen = function () {
      opened = true;
      ws.send(JSON.stringify({ticket: ticket, cols: term.cols, rows: term.rows}));
    };
    // A socket this page has given up (a reconnect) is heard no more.
    ws.onmessage = function (event) {
      if (socket !== ws) { return; }
      if (typeof event.data !== "string") {
        // (an empty one is the gateway checking that this page is still there)
        if (event.data.byteLength) { term.write(new Uint8Array(event.data)); }
        return;
      }
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "ready") {
        ready = true;
        live = true;
        failures = 0;
        // A full reset (RIS), in order with what the terminal still has to
        // write: the lab's login repaints its session from a clean screen.
        term.write("\x1bc");
        sendPending();
        setState(message.read_only ? "read-only" : "connected", message.read_only ? "Read-only: you can watch, not type." : "");
        term.focus();
      } else if (message.type === "too-large") {
        notice(message.message || tooLarge(message.limit || MAX_MESSAGE));
      } else if (message.type === "refused") {
        retry = false;
        live = false;
        giveUp("refused", message.message);
      } else if (message.type === "error") {
        retry = message.retry !== false;
        live = false;
        retryAfter = typeof message.retry_after === "number" ? message.retry_after * 1000 : 0;
        if (retry) {
          setState("reconnecting", message.message);
        } else {
          giveUp("error", message.message);
        }
      } else if (message.type === "closed") {
        live = false;
        setState("reconnecting", message.message);
      }
    };
    ws.onclose = function (event) {
      if (socket !== ws) { return; }
      socket = null;
      live = false;
      if (!retry) { return; }
      if (event.code === 1009) {
        setState("reconnecting", tooLarge(MAX_MESSAGE));
      } else if (!opened) {
        // Refused at the handshake (this page's origin, a limit of the
        // gateway's) or no gateway: the browser does not say which.
        setState("reconnecting", UNREACHABLE);
      } else if (state === "connected" || state === "read-only" || state === "connecting") {
        setState("reconnecting", "Reconnecting...");
      }
      if (!ready) { failures += 1; }
      var backoff = Math.min(30000, 1000 * Math.pow(2, Math.max(0, failures - 1)));
      askTimer = setTimeout(askForTicket, Math.max(backoff, retryAfter));
    };
  }

  // The lab page says the lab is back: try at once, as if for the first time.
  function reconnect() {
    failures = 0;
    live = false;
    if (socket) {
      var old = socket;
      socket = null;
      old.close();
    }
    setState("reconnecting", "Reconnecting...");
    askForTicket();
  }

  // At most one message a second: the lab page only needs to know that the
  // learner is there, and its idle window is far longer.
  function activity() {
    var now = Date.now();
    if (now - lastActivity > 1000) {
      lastActivity = now;
      tell({type: "hastexo-lab:activity"});
    }
  }

  // Only the learner's own hands are activity: the browser's events for a key,
  // a click, the wheel, a touch, a paste. Not what xterm sends by itself (its
  // answers to a program's queries, the focus reports an editor asks for when
  // this page takes the focus on a reconnect), nor a script's events: every
  // one of those would keep an idle tab's lab running, or resume it.
  function learnerInput(event) {
    if (event.isTrusted) { activity(); }
  }

  // Storage may be refused (a browser's privacy settings): then nothing is kept.
  function remembered(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function remember(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* not kept */ }
  }

  // The clipboard API where the frames around this page pass clipboard-write
  // on, else the older copy command, which needs no permission, only the
  // learner's key press; it copies what the copy event is given.
  function copy(text) {
    var policy = document.permissionsPolicy || document.featurePolicy;
    var allowed = navigator.clipboard && navigator.clipboard.writeText &&
      (!policy || policy.allowsFeature("clipboard-write"));
    if (allowed) {
      navigator.clipboard.writeText(text).catch(function () { copyByCommand(text); });
    } else {
      copyByCommand(text);
    }
  }

  function copyByCommand(text) {
    function fill(event) {
      event.clipboardData.setData("text/plain", text);
      event.preventDefault();
      event.stopImmediatePropagation();
    }
    document.addEventListener("copy", fill, true);
    try { document.execCommand("copy"); } finally { document.removeEventListener("copy", fill, true); }
  }

  // In parts the gateway takes; the gateway and the lab take them at the
  // lab's pace, the browser keeps the rest meanwhile.
  function transmit(bytes) {
    for (var start = 0; start < bytes.length; start += MAX_MESSAGE) {
      socket.send(bytes.subarray(start, start + MAX_MESSAGE));
    }
  }

  function sendBytes(bytes) {
    if (bytes.length > MAX_PASTE) {
      notice(tooLarge(MAX_PASTE));
      return;
    }
    if (live && socket && socket.readyState === WebSocket.OPEN) {
      transmit(bytes);
    } else if (state !== "connecting" && state !== "reconnecting") {
      notice(NOT_CONNECTED);
    } else if (pendingBytes + bytes.length > PENDING_MAX) {
      notice(TOO_MUCH);
    } else {
      pending.push(bytes);
      pendingBytes += bytes.length;
      showState();
    }
  }

  function sendPending() {
    var kept = pending;
    pending = [];
    pendingBytes = 0;
    kept.forEach(transmit);
  }

  function send(data) {
    sendBytes(encoder.encode(data));
  }

  term.onData(send);
  term.onBinary(function (data) {
    var bytes = new Uint8Array(data.length);
    for (var i = 0; i < data.length; i++) { bytes[i] = data.charCodeAt(i) & 255; }
    sendBytes(bytes);
  });
  term.onResize(function (size) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({type: "resize", cols: size.cols, rows: size.rows}));
    }
  });
  // Copy the selection with Ctrl+Shift+C (Ctrl+C is the shell's). Paste
  // needs no code: the browser's paste (its keys, its menu) is an event that
  // xterm reads itself, without the clipboard-read permission, which the
  // frames around this page (the learning MFE's) do not pass on.
  term.attachCustomKeyEventHandler(function (event) {
    if (event.type === "keydown" && event.ctrlKey && event.shiftKey && (event.key === "C" || event.key === "c")) {
      if (term.hasSelection()) { copy(term.getSelection()); }
      return false;
    }
    return true;
  });
  // (and "input", "compositionend", "drop": text that comes without a key,
  // from dictation, an input method or a drag)
  ["keydown", "mousedown", "wheel", "touchstart", "paste", "input", "compositionend", "drop"].forEach(function (type) {
    // Capturing: seen before xterm handles (and may stop) the event.
    document.addEventListener(type, learnerInput, {passive: true, capture: true});
  });
  window.addEventListener("resize", function () { fit.fit(); });

  screenReaderButton.setAttribute("aria-pressed", String(term.options.screenReaderMode));
  screenReaderButton.addEventListener("click", function () {
    var on = !term.options.screenReaderMode;
    term.options.screenReaderMode = on;
    screenReaderButton.setAttribute("aria-pressed", String(on));
    remember(SCREEN_READER_KEY, on ? "on" : "off");
    term.focus();
  });

  window.addEventListener("message", function (event) {
    if (event.source !== owner() || labOrigins.indexOf(event.origin) < 0) { return; }
    ownerOrigin = event.origin;
    lastHeard = Date.now();
    var message = event.data;
    if (!message || typeof message !== "object") { return; }
    if (message.type === "hastexo-lab:ticket" && typeof message.ticket === "string") {
      connect(message.ticket);
    } else if (message.type === "hastexo-lab:no-ticket") {
      if (message.final) {
        giveUp("error", message.message);
      } else {
        setState("reconnecting", message.message || "Reconnecting...");
      }
    } else if (message.type === "hastexo-lab:reconnect") {
      reconnect();
    }
  });

  setState("connecting", "Connecting...");
  askForTicket();
}());
