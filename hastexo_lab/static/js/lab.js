/* The learner's side of a lab: launch and status polling, the terminal,
 * keepalives while the learner is really working, the idle warning, reset and
 * port choice, the page's height in a frame (the learning MFE's). Plain
 * browser JavaScript, no framework.
 *
 * The terminal is the gateway's page, in the iframe or a window of its own.
 * It asks this page for tickets (postMessage); this page gets each from the
 * block's handler, for a ready lab only, and hands it to that page alone
 * (the gateway's origin). The terminal reports the learner's input in it back
 * as activity: only that, never its own doings (a focus, a reconnect). */
function HastexoLabBlock(runtime, element, config) {
  "use strict";
  var root = element && element.jquery ? element[0] : element;
  var lab = root.querySelector(".hastexo-lab") || root;
  // The block's own translations (its i18n namespace: i18n.py), else the page's, else none.
  var gettext = window.HastexoLabI18N ? window.HastexoLabI18N.gettext
    : (typeof window.gettext === "function") ? window.gettext : function (s) { return s; };
  var timeouts = config.timeouts;
  var BUSY = ["queued", "creating", "resuming", "waiting", "suspending", "deleting", "absent"];
  // Phases that wait for the learner: nothing to poll for.
  var FINAL = ["failed", "lost", "limited"];
  // Phases of a lab that is the learner's to keep: one being waited for
  // included. A learner's input in any of them says the lab is still wanted.
  var KEPT = ["queued", "creating", "waiting", "resuming", "ready", "suspending", "suspended"];
  // A suspended lab comes back on the learner's input: no more than one
  // request for it in this long (ms).
  var RESUME_EVERY = 2000;
  var suspendMs = (config.suspend_timeout || 0) * 1000;
  var MAX_FAILURES = 5;
  var urls = {};
  ["status", "keepalive", "leave", "reset", "set_port", "terminal_ticket", "check_progress",
   "check_result"].forEach(function (name) {
    urls[name] = runtime.handlerUrl(root, name);
  });
  var state = {
    phase: null, launched: false, lastInput: Date.now(), failures: 0, statusDelay: 1000,
    statusTimer: null, keepaliveTimer: null, terminalUrl: null, keepalives: 0, stopped: false,
    minting: false, popup: null, terminalState: "", lastKeepalive: 0, checkRunning: false,
    // The lab's clock (ms since the epoch), from the server's replies.
    upSince: null, suspendAt: null, readyAt: null, keptUntil: null
  };
  var terminalOrigin = config.terminal_url ? new URL(config.terminal_url, window.location.href).origin : "";

  function $(selector) { return lab.querySelector(selector); }

  // The page changes its DOM only where a value really changes: this page
  // is polled and ticks every second, and every change of the DOM is a
  // cause for a host that frames it (the learning MFE) to measure it again.
  function setAttr(el, name, value) { if (el.getAttribute(name) !== value) { el.setAttribute(name, value); } }
  function setText(el, text) { if (el.textContent !== text) { el.textContent = text; } }
  function show(selector, visible) { var el = $(selector); if (el && el.hidden === visible) { el.hidden = !visible; } }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken(),
                "X-Requested-With": "XMLHttpRequest"},
      body: JSON.stringify(data || {})
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  // -- what the learner sees -------------------------------------------------

  function setMessage(text) { setText($(".hastexo-lab-message"), text); }

  // What each phase is called in the badge, and what the learner can do in
  // it (the server's message says what is happening).
  var PHASES = {
    queued: [gettext("Queued"), gettext("Your lab starts as soon as the cloud takes it. Keep this page open; you can read the instructions meanwhile.")],
    creating: [gettext("Starting"), gettext("Keep this page open; you can read the instructions meanwhile. The terminal opens by itself.")],
    waiting: [gettext("Booting"), gettext("The lab's machine is booting; the terminal opens by itself.")],
    resuming: [gettext("Resuming"), gettext("Everything in your lab was kept; the terminal opens by itself when it is back.")],
    ready: [gettext("Ready"), ""],
    suspending: [gettext("Suspending"), gettext("Move the mouse, press a key or choose Resume lab: it comes back once the suspend is done.")],
    suspended: [gettext("Suspended"), gettext("Everything in your lab is kept. Move the mouse, press a key or choose Resume lab to continue where you left off.")],
    deleting: [gettext("Removing"), gettext("After a reset, a fresh lab is created as soon as the old one is gone.")],
    absent: [gettext("Starting"), gettext("A fresh lab is being asked for.")],
    failed: [gettext("Failed"), gettext("Choose Try again: a start that failed often works a moment later.")],
    lost: [gettext("Gone"), gettext("The work in the old lab is gone. Start a fresh lab to continue.")],
    limited: [gettext("Limit reached"), gettext("No lab was started or resumed. Come back after the time above.")]
  };

  function duration(seconds) {
    if (seconds < 60) { return gettext("{count} s").replace("{count}", String(Math.max(0, Math.round(seconds)))); }
    if (seconds < 3600) { return gettext("{count} min").replace("{count}", String(Math.round(seconds / 60))); }
    return gettext("{hours} h {minutes} min").replace("{hours}", String(Math.floor(seconds / 3600)))
      .replace("{minutes}", String(Math.round((seconds % 3600) / 60)));
  }

  // A countdown's time: 4:05, or 1:02:09.
  function clock(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var hours = Math.floor(total / 3600), minutes = Math.floor(total / 60) % 60, seconds = total % 60;
    var tail = (hours && minutes < 10 ? "0" : "") + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    return hours ? hours + ":" + tail : tail;
  }

  function timeOfDay(at) {
    return new Date(at).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }

  // The hint under the message: what the learner can do now.
  function hintFor(phase) {
    if (phase === "ready") {
      if (!suspendMs || config.hidden) { return ""; }
      return gettext("Work in the terminal below. After {time} without activity your lab is suspended; everything in it is kept.")
        .replace("{time}", duration(suspendMs / 1000));
    }
    return (PHASES[phase] || ["", ""])[1];
  }

  // Times from a reply, as moments: a reply says how many seconds from now.
  function noteTimes(reply) {
    var now = Date.now();
    function at(seconds) { return typeof seconds === "number" ? now + seconds * 1000 : null; }
    var upSince = at(reply.up_for === undefined ? undefined : -reply.up_for);
    // Moments known to the second move with each reply's delay: kept unless
    // they really changed.
    if (upSince === null || state.upSince === null || Math.abs(upSince - state.upSince) > 5000) {
      state.upSince = upSince;
    }
    state.suspendAt = at(reply.suspend_in);
    state.readyAt = at(reply.ready_in);
    state.keptUntil = at(reply.kept_for);
  }

  // When the lab is suspended unless the learner does something: the page
  // keeps it while they were active within the idle window, and the server
  // suspend_timeout after the last keepalive, which goes out up to one
  // keepalive interval before that window ends (said early rather than late).
  function suspendsAt() {
    var projected = state.lastInput + timeouts.idle - timeouts.keepalive + suspendMs;
    if (recentlyActive() || state.suspendAt === null) { return projected; }
    return state.suspendAt;
  }

  // The clock in the header and the estimate under the message. A ready lab
  // shows moments (they stay put while nobody works: the page is quiet then);
  // a lab being waited for shows the time left.
  function showTimes() {
    var phase = state.phase;
    var ready = phase === "ready" && state.upSince !== null;
    if (ready) {
      setText($(".hastexo-lab-used dd"), timeOfDay(state.upSince));
      setText($(".hastexo-lab-left dd"), timeOfDay(suspendsAt()));
    }
    show(".hastexo-lab-used", ready);
    show(".hastexo-lab-left", ready && !!suspendMs && !config.observer);
    var eta = "";
    if (BUSY.indexOf(phase) >= 0 && phase !== "absent" && state.readyAt !== null) {
      var left = state.readyAt - Date.now();
      eta = left > 0 ? (phase === "deleting" ? gettext("Likely done in about {time}.")
                                             : gettext("Likely ready in about {time}.")).replace("{time}", clock(left))
        : gettext("This is taking longer than usual; it should not be long now.");
    } else if (phase === "suspended" && state.keptUntil !== null) {
      eta = gettext("Your lab is kept until {date}; after that, a fresh one is created.")
        .replace("{date}", new Date(state.keptUntil).toLocaleString([], {dateStyle: "medium", timeStyle: "short"}));
    }
    setText($(".hastexo-lab-eta"), eta);
    show(".hastexo-lab-eta", eta !== "");
  }

  // Buttons that cannot act in a phase are disabled, not hidden away: the
  // learner sees what they get back once the lab is ready again.
  function setControls() {
    var phase = state.phase, observer = !!config.observer;
    function able(selector, yes) {
      var el = $(selector);
      if (!el) { return; }
      if (el.disabled === yes) { el.disabled = !yes; }
    }
    var ready = phase === "ready";
    able(".hastexo-lab-fullscreen", ready && !observer);
    able(".hastexo-lab-new-window", ready && !observer);
    able(".hastexo-lab-reset", !observer && ["queued", "creating", "waiting", "ready", "resuming", "suspending",
                                             "suspended", "failed"].indexOf(phase) >= 0);
    able(".hastexo-lab-port", !observer);
    able(".hastexo-lab-check", !observer && !state.checkRunning && ["waiting", "ready", "resuming", "suspending",
                                                                    "suspended"].indexOf(phase) >= 0);
    show(".hastexo-lab-resume", !observer && (phase === "suspended" || phase === "suspending"));
  }

  function render(reply) {
    var previous = state.phase;
    state.phase = reply.phase;
    setAttr(lab, "data-phase", reply.phase);
    setAttr(lab, "class", "hastexo-lab is-" + reply.phase);
    setAttr(lab, "data-busy", BUSY.indexOf(reply.phase) >= 0 ? "true" : "false");
    setText($(".hastexo-lab-badge"), (PHASES[reply.phase] || [gettext("Preparing")])[0]);
    setMessage(reply.message || "");
    setText($(".hastexo-lab-hint"), hintFor(reply.phase));
    if (previous !== reply.phase) { $(".hastexo-lab-resume").disabled = false; }
    noteTimes(reply);
    show(".hastexo-lab-toolbar", true);
    setControls();
    showTimes();
    if (FINAL.indexOf(reply.phase) < 0) { startKeepalives(); }
    if (reply.notice) {
      // Over the usage limit (the "warn" policy): said once, and kept in view.
      setText($(".hastexo-lab-notice"), reply.notice);
      show(".hastexo-lab-notice", true);
    }
    if (reply.phase === "ready") {
      show(".hastexo-lab-error", false);
      if (!config.hidden && reply.terminal_url) {
        // Coming back from a suspend, the old connection is dead: reconnect.
        showTerminal(reply.terminal_url, previous !== null && previous !== "ready");
      }
    } else {
      show(".hastexo-lab-terminal-wrap", false);
      if (reply.phase === "failed" || reply.phase === "limited") {
        // Limited: the usage limit stops new launches and resumes for now.
        stopPolling();
        showError(reply.message, true);
      } else if (reply.phase === "lost") {
        // The cloud no longer has the lab: offer a fresh one, as a reset does.
        stopPolling();
        showError(reply.message, false);
        show(".hastexo-lab-fresh", true);
      }
    }
  }

  function showTerminal(url, reconnect) {
    var frame = $(".hastexo-lab-terminal");
    if (config.terminal === "guacamole") {
      // A fresh blob for every (re)connect: after a resume or a reset the
      // lab may be somewhere else.
      if (reconnect || state.terminalUrl === null) { openGuacamole(); }
      show(".hastexo-lab-terminal-wrap", true);
      return;
    }
    if (state.terminalUrl !== url) {
      frame.setAttribute("src", url);
      state.terminalUrl = url;
    } else if (reconnect) {
      // Back from a suspend: the terminal waits for a ticket; it gets one now.
      terminals().forEach(function (target) { tellTerminal(target, {type: "hastexo-lab:reconnect"}); });
    }
    show(".hastexo-lab-terminal-wrap", true);
  }

  // -- progress checks -------------------------------------------------------

  function showCheck(reply, done) {
    var panel = $(".hastexo-lab-check-result");
    if (!panel || reply.status === "none") { return; }
    panel.hidden = false;
    $(".hastexo-lab-check-heading").textContent = reply.heading || "";
    $(".hastexo-lab-check-message").textContent = reply.message || "";
    var list = $(".hastexo-lab-check-hints");
    list.textContent = "";
    (reply.hints || []).forEach(function (hint) {
      var item = document.createElement("li");
      item.textContent = hint;  // what a script printed: text, never markup
      list.appendChild(item);
    });
    var score = reply.score, line = "";
    if (score) {
      line = gettext("Counted for your grade: {earned} of {possible} points.")
        .replace("{earned}", String(score.earned)).replace("{possible}", String(score.possible));
      if (score.best_total) {
        line += " " + gettext("Your best check so far: {passed} of {total} passed.")
          .replace("{passed}", String(score.best_passed)).replace("{total}", String(score.best_total));
      }
    }
    setText($(".hastexo-lab-score"), line);
    show(".hastexo-lab-score", line !== "");
    lab.setAttribute("data-check", reply.status);
    if (done) { panel.focus(); }
  }

  function checkRunning(running) {
    state.checkRunning = running;
    setControls();
  }

  function followCheck(reply) {
    showCheck(reply, reply.status !== "running");
    checkRunning(reply.status === "running");
    if (reply.status === "running") {
      setTimeout(function () {
        post(urls.check_result, {}).then(followCheck, function () {
          checkRunning(false);
          showCheck({status: "failed", message: gettext("The check could not be run. Please try again.")}, true);
        });
      }, timeouts.check);
    }
  }

  function setUpChecks() {
    var button = $(".hastexo-lab-check");
    if (!button) { return; }
    button.addEventListener("click", function () {
      checkRunning(true);
      showCheck({status: "running", message: gettext("Checking your progress...")}, false);
      post(urls.check_progress, {}).then(followCheck, function () {
        checkRunning(false);
        showCheck({status: "failed", message: gettext("The check could not be run. Please try again.")}, true);
      });
    });
    // A reload shows the last result (or follows the running check).
    post(urls.check_result, {}).then(function (reply) { if (reply.status !== "none") { followCheck(reply); } },
                                     function () { /* no result to show */ });
  }

  // -- Guacamole -------------------------------------------------------------

  function guacamoleUrl() {
    return post(urls.terminal_ticket, {}).then(function (reply) {
      if (!reply.url) {
        lab.setAttribute("data-terminal", "error");
        if (reply.message) { setMessage(reply.message); }
        throw new Error("no Guacamole address");
      }
      return reply.url;
    });
  }

  function openGuacamole() {
    if (state.minting) { return; }
    state.minting = true;
    state.terminalUrl = "guacamole";
    guacamoleUrl().then(function (url) {
      state.minting = false;
      $(".hastexo-lab-terminal").setAttribute("src", url);
      lab.setAttribute("data-terminal", "connected");
    }, function () { state.minting = false; state.terminalUrl = null; });
  }

  // -- the terminal's tickets -------------------------------------------------

  function terminals() {
    var list = [];
    var frame = $(".hastexo-lab-terminal");
    if (frame && frame.contentWindow) { list.push(frame.contentWindow); }
    if (state.popup && !state.popup.closed) { list.push(state.popup); }
    return list;
  }

  function tellTerminal(target, message) {
    // Only the gateway's own page may read it (a ticket above all).
    try { target.postMessage(message, terminalOrigin); } catch (e) { /* gone */ }
  }

  function sendTicket(target) {
    if (config.hidden) { return; }
    if (state.phase !== "ready") {
      tellTerminal(target, {type: "hastexo-lab:no-ticket", message: $(".hastexo-lab-message").textContent});
      return;
    }
    if (state.minting) { return; }  // the terminal asks again
    state.minting = true;
    post(urls.terminal_ticket, {}).then(function (reply) {
      state.minting = false;
      if (reply.ticket) {
        tellTerminal(target, {type: "hastexo-lab:ticket", ticket: reply.ticket});
      } else {
        tellTerminal(target, {type: "hastexo-lab:no-ticket", message: reply.message, final: !!reply.final});
        if (reply.phase && reply.phase !== state.phase) {
          render(reply);
          scheduleStatus(0);  // the status says more (the times): asked for at once
        }
      }
    }, function () { state.minting = false; });
  }

  window.addEventListener("message", function (event) {
    if (terminals().indexOf(event.source) < 0 || event.origin !== terminalOrigin) { return; }
    var message = event.data;
    if (!message || typeof message !== "object") { return; }
    if (message.type === "hastexo-lab:need-ticket") {
      sendTicket(event.source);
    } else if (message.type === "hastexo-lab:activity") {
      onInput();
    } else if (message.type === "hastexo-lab:state" && typeof message.state === "string") {
      state.terminalState = message.state;
      setAttr(lab, "data-terminal", message.state);
    }
  });

  function showError(message, withRetry) {
    setAttr(lab, "data-busy", "false");
    setText($(".hastexo-lab-error-message"), message);
    setText($(".hastexo-lab-error-hint"), $(".hastexo-lab-hint").textContent);
    show(".hastexo-lab-retry", withRetry);
    show(".hastexo-lab-fresh", false);
    show(".hastexo-lab-error", true);
    setAttr(lab, "data-error", "true");
  }

  function hideError() {
    show(".hastexo-lab-error", false);
    if (lab.hasAttribute("data-error")) { lab.removeAttribute("data-error"); }
  }

  // -- status polling --------------------------------------------------------

  function scheduleStatus(delay) {
    clearTimeout(state.statusTimer);
    if (!state.stopped) { state.statusTimer = setTimeout(pollStatus, delay); }
  }

  function stopPolling() { clearTimeout(state.statusTimer); state.statusTimer = null; }

  function pollStatus() {
    // The first request launches (or resumes) the lab; so does the first one
    // after a reset has removed it. The server makes repeats harmless.
    // Staff viewing as a learner only look: the server refuses the rest too.
    var launch = !config.observer && (!state.launched || state.phase === "absent");
    post(urls.status, {launch: launch}).then(function (reply) {
      state.launched = true;
      state.failures = 0;
      hideError();
      render(reply);
      if (reply.phase === "absent" && state.launched) {
        // Gone after a reset: the fresh lab is asked for at once.
        scheduleStatus(0);
      } else if (BUSY.indexOf(reply.phase) >= 0 && reply.poll_in) {
        // The server knows when the lab is likely ready: ask then.
        scheduleStatus(reply.poll_in);
      } else if (BUSY.indexOf(reply.phase) >= 0) {
        // Quick while a change is expected, backing off to the configured interval.
        scheduleStatus(state.statusDelay);
        state.statusDelay = Math.min(state.statusDelay * 1.5, timeouts.status);
      } else {
        state.statusDelay = 1000;
        scheduleSteadyStatus();
      }
    }, onServerError);
  }

  // A lab that is up (or suspended) can still change without the learner:
  // the suspender, a reset in another tab, an operator. Look once per status
  // interval, so the page shows it within that time, even in an idle tab.
  function scheduleSteadyStatus() {
    if (FINAL.indexOf(state.phase) < 0) { scheduleStatus(timeouts.status); }
  }

  function onServerError(error) {
    state.failures += 1;
    setText($(".hastexo-lab-badge"), gettext("No connection"));
    if (error.status === 400 || error.status === 403 || state.failures >= MAX_FAILURES) {
      stopPolling();
      setText($(".hastexo-lab-hint"), gettext("Your lab itself is not affected. Choose Try again in a moment."));
      showError(gettext("The lab service is not answering. Please try again in a moment."), true);
      return;
    }
    setMessage(gettext("Having trouble reaching the lab service; trying again..."));
    var delay = Math.min(1000 * Math.pow(2, state.failures), 30000) * (0.75 + Math.random() * 0.5);
    setText($(".hastexo-lab-hint"), gettext("Your lab itself is not affected. Next try in {time}.")
      .replace("{time}", duration(delay / 1000)));
    scheduleStatus(delay);
  }

  // -- activity and keepalives -----------------------------------------------

  function recentlyActive() {
    return document.visibilityState === "visible" && Date.now() - state.lastInput < timeouts.idle;
  }

  var lastInputSeen = 0;
  var pointer = null;

  // The browser also fires mousemove when the page moves under a pointer
  // that stands still (the terminal hides on a suspend): not the learner.
  function pointerStoodStill(event) {
    var at = event.screenX + "," + event.screenY;
    var still = at === pointer || (event.movementX === 0 && event.movementY === 0);
    pointer = at;
    return still;
  }

  function notTheLearner(event) {
    // A script's event (isTrusted false) is no one at the keyboard.
    if (event.isTrusted === false) { return true; }
    // Reaching for the idle warning's button is not yet an answer to it. A
    // key is: the warning has the focus, and the learner back at the
    // keyboard types into it.
    if (event.type !== "keydown" && event.target && event.target.nodeType === 1 &&
        $(".hastexo-lab-idle").contains(event.target)) {
      return true;
    }
    return event.type === "mousemove" && pointerStoodStill(event);
  }

  // Learner input: an event here, or the terminal's word that there was some
  // in it (no event then).
  function onInput(event) {
    if (event && notTheLearner(event)) { return; }
    var now = Date.now();
    if (now - lastInputSeen < 250) { return; }  // mousemove fires very often
    lastInputSeen = now;
    var wasAway = !recentlyActive();
    state.lastInput = now;
    if (KEPT.indexOf(state.phase) < 0 || config.observer) { return; }
    // Back from away; or at a suspended lab, which the learner's input brings back.
    var suspended = state.phase === "suspended" || state.phase === "suspending";
    if (wasAway || (suspended && now - state.lastKeepalive >= RESUME_EVERY)) { sendKeepalive(); }
  }

  // No "scroll": the browser scrolls the page by itself whenever it changes
  // height (to keep in view what was when the idle warning shows or goes, back
  // up when the terminal hides on a suspend), and so a scrolled-down page
  // would never see its learner away. The learner's own scrolling comes with
  // the wheel, keys, a touch or the pointer, which count.
  function watchInput(target) {
    ["keydown", "mousedown", "mousemove", "wheel", "touchstart"].forEach(function (type) {
      target.addEventListener(type, onInput, {passive: true, capture: true});
    });
  }

  function watchTerminal() {
    var frame = $(".hastexo-lab-terminal");
    frame.addEventListener("load", function () {
      try {
        watchInput(frame.contentWindow.document);  // same origin: every key counts
      } catch (e) {
        // Another origin: the built-in terminal says when it has input (see
        // the messages above); Guacamole's page does not, see below.
      }
    });
    if (config.terminal === "guacamole") { watchClicksIntoGuacamole(frame); }
  }

  // Guacamole's page on another origin tells nothing; the page only sees its
  // window lose the focus to the frame. That counts as a click into it only
  // with the learner's pointer on the frame: a page that takes the focus by
  // itself (as on loading) while the learner is away is not the learner. The
  // built-in terminal takes the focus on every (re)connect: it is not watched
  // this way at all.
  function watchClicksIntoGuacamole(frame) {
    var pointerOnFrame = false;
    // The browser also fires mouseenter when the frame moves under a pointer
    // that stands still (the page's layout shifts): not the learner's hand.
    frame.addEventListener("mouseenter", function (event) {
      pointerOnFrame = event.isTrusted && !pointerStoodStill(event);
    });
    frame.addEventListener("mouseleave", function () { pointerOnFrame = false; });
    window.addEventListener("blur", function () {
      setTimeout(function () {
        if (pointerOnFrame && document.activeElement === frame) { onInput(); }
      }, 0);
    });
  }

  function startKeepalives() {
    if (config.observer) { return; }
    if (state.keepaliveTimer === null) { scheduleKeepalive(); }
  }

  function scheduleKeepalive() {
    var jittered = timeouts.keepalive * (0.9 + Math.random() * 0.2);
    state.keepaliveTimer = setTimeout(function () {
      // A lab being waited for is kept as much as a ready one.
      if (recentlyActive() && KEPT.indexOf(state.phase) >= 0) { sendKeepalive(); }
      scheduleKeepalive();
    }, jittered);
  }

  function sendKeepalive() {
    state.keepalives += 1;
    state.lastKeepalive = Date.now();
    setAttr(lab, "data-keepalives", String(state.keepalives));
    post(urls.keepalive, {}).then(function (reply) {
      var changed = reply.phase !== state.phase;
      if (changed || reply.phase !== "ready") {
        render(reply);
      } else {
        noteTimes(reply);
      }
      // The reply told us the phase: the next status poll can wait; a
      // change is followed closely.
      if (changed && BUSY.indexOf(reply.phase) >= 0) {
        state.statusDelay = 1000;
        scheduleStatus(reply.poll_in || 1000);
      } else if (BUSY.indexOf(reply.phase) < 0) {
        scheduleSteadyStatus();
      }
    }, function () { /* the next keepalive or status poll tries again */ });
  }

  // The learner asks for a suspended lab back: a keepalive is that request.
  function resume() {
    var button = $(".hastexo-lab-resume");
    button.disabled = true;
    state.lastInput = Date.now();
    setText($(".hastexo-lab-hint"), gettext("Resuming your lab..."));
    sendKeepalive();
  }

  function watchIdle() {
    var warnBefore = Math.min(60000, timeouts.idle * 0.2);
    var warnedUntil = null;
    setInterval(function () {
      var idleFor = Date.now() - state.lastInput;
      var warn = state.phase === "ready" && idleFor >= timeouts.idle - warnBefore;
      if (warn) {
        // A countdown only ever goes down: the earliest the lab may go.
        warnedUntil = Math.min(suspendsAt(), warnedUntil === null ? Infinity : warnedUntil);
        setText($(".hastexo-lab-idle-left"), clock(warnedUntil - Date.now()));
        openDialog(".hastexo-lab-idle", ".hastexo-lab-still-here", document.activeElement);
      } else {
        warnedUntil = null;
        closeDialog(".hastexo-lab-idle");
      }
      setAttr(lab, "data-idle", warn ? "true" : "false");
      showTimes();
    }, Math.min(1000, warnBefore / 2));
  }

  // -- the idle warning and the reset confirmation ---------------------------

  // Each takes the focus when it shows (screen readers then read its label
  // and text) and gives it back when it goes, unless the learner has moved
  // it elsewhere meanwhile (into the terminal, say).
  var focusBefore = {};

  function visible(el) { return !!el && el.isConnected && el.getClientRects().length > 0; }

  function openDialog(selector, focusSelector, returnTo) {
    var box = $(selector);
    if (!box.hidden) { return; }
    focusBefore[selector] = returnTo;
    box.hidden = false;
    ($(focusSelector) || box).focus();
  }

  function closeDialog(selector) {
    var box = $(selector);
    if (box.hidden) { return; }
    var hadFocus = box.contains(document.activeElement);
    var back = focusBefore[selector];
    focusBefore[selector] = null;
    box.hidden = true;
    if (hadFocus && back !== document.body && visible(back)) { back.focus(); }
  }

  // -- controls ----------------------------------------------------------------

  function setUpControls() {
    $(".hastexo-lab-resume").addEventListener("click", resume);
    $(".hastexo-lab-retry").addEventListener("click", function () {
      state.failures = 0;
      state.stopped = false;
      state.statusDelay = 1000;
      hideError();
      setMessage(gettext("Trying again..."));
      if (state.phase === "failed" || state.phase === "limited") { state.phase = "absent"; state.launched = false; }
      pollStatus();
    });
    $(".hastexo-lab-still-here").addEventListener("click", function () {
      state.lastInput = Date.now();
      closeDialog(".hastexo-lab-idle");
      sendKeepalive();
    });
    [".hastexo-lab-reset", ".hastexo-lab-fresh"].forEach(function (opener) {
      $(opener).addEventListener("click", function () {
        // Cancel first: the answer that keeps the learner's work.
        openDialog(".hastexo-lab-confirm", ".hastexo-lab-confirm-no", $(opener));
      });
    });
    $(".hastexo-lab-confirm-no").addEventListener("click", function () { closeDialog(".hastexo-lab-confirm"); });
    $(".hastexo-lab-confirm").addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closeDialog(".hastexo-lab-confirm");
      }
    });
    $(".hastexo-lab-confirm-yes").addEventListener("click", function () {
      closeDialog(".hastexo-lab-confirm");
      show(".hastexo-lab-terminal-wrap", false);
      $(".hastexo-lab-reset").disabled = true;
      $(".hastexo-lab-terminal").setAttribute("src", "about:blank");
      state.terminalUrl = null;
      post(urls.reset, {confirm: true}).then(function (reply) {
        hideError();
        render(reply);
        state.statusDelay = 1000;
        scheduleStatus(1000);
      }, onServerError);
    });
    var select = $(".hastexo-lab-port");
    if (config.ports.length > 1) {
      config.ports.forEach(function (port) {
        var option = document.createElement("option");
        option.value = String(port.number);
        option.textContent = port.name;
        option.selected = port.number === config.port;
        select.appendChild(option);
      });
      show(".hastexo-lab-port-label", true);
      select.addEventListener("change", function () {
        post(urls.set_port, {port: parseInt(select.value, 10)}).then(function () {
          if (config.terminal === "guacamole") {
            if (state.phase === "ready" && !config.hidden) { openGuacamole(); }
            return;
          }
          // The next ticket is for the new port.
          terminals().forEach(function (target) { tellTerminal(target, {type: "hastexo-lab:reconnect"}); });
        }, onServerError);
      });
    }
    var full = $(".hastexo-lab-fullscreen");
    if (config.fullscreen && !config.hidden && full && document.fullscreenEnabled) {
      full.hidden = false;
      full.addEventListener("click", function () {
        $(".hastexo-lab-terminal-wrap").requestFullscreen().catch(function () { /* refused: stay */ });
      });
    }
    var popout = $(".hastexo-lab-new-window");
    if (!config.hidden && popout) {
      popout.hidden = false;
      popout.addEventListener("click", function () {
        if (config.terminal === "guacamole") {
          // Opened now (a later window.open would be blocked), pointed at a fresh blob then.
          var desktop = window.open("about:blank", "hastexo-lab-terminal");
          guacamoleUrl().then(function (url) { if (desktop) { desktop.location = url; } },
                              function () { if (desktop) { desktop.close(); } });
          return;
        }
        // The new window asks this page for its tickets, as the iframe does.
        state.popup = window.open(config.terminal_url, "hastexo-lab-terminal");
      });
    }
  }

  // The page is going away: tell the server, so that a lab nobody looks at
  // is suspended soon. This only ever brings the suspend forward.
  window.addEventListener("pagehide", function () {
    if (state.phase !== "ready") { return; }
    try {
      fetch(urls.leave, {
        method: "POST", keepalive: true, credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken(),
                  "X-Requested-With": "XMLHttpRequest"},
        body: JSON.stringify({leaving: true})
      }).catch(function () { /* the page is gone; the suspender decides on its own */ });
    } catch (e) {
      // A browser without keepalive requests: the suspender decides on its own.
    }
  });

  // -- in a frame --------------------------------------------------------------

  // The learning MFE shows this page in a frame as tall as the height the
  // page reports ("plugin.resize"): the terminal's height must not depend on
  // the frame's (lab.css), and the MFE tells the height of its own window
  // ("unit.visibilityStatus"), which the terminal's follows. The LMS's unit
  // page reports the height itself (marking its body "view-in-mfe"); this
  // page does only elsewhere, and only when it changed: every message
  // resizes the frame.
  function fitTheFrame() {
    var framed = window.parent !== window;
    setAttr(lab, "data-framed", framed ? "true" : "false");
    if (!framed) { return; }
    var reported = 0;
    function report() {
      var height = document.body.scrollHeight;
      if (height === reported || document.body.classList.contains("view-in-mfe")) { return; }
      reported = height;
      // A height says nothing secret: any parent may know it.
      window.parent.postMessage({type: "plugin.resize", payload: {height: height}}, "*");
    }
    if (window.ResizeObserver) { new ResizeObserver(report).observe(document.body); }
    report();
    window.addEventListener("message", function (event) {
      var message = event.data;
      if (event.source !== window.parent || !message || message.type !== "unit.visibilityStatus") { return; }
      var top = message.data && message.data.viewportHeight;
      if (typeof top === "number" && top > 0) {
        var value = Math.round(top) + "px";
        if (lab.style.getPropertyValue("--hastexo-lab-top-height") !== value) {
          lab.style.setProperty("--hastexo-lab-top-height", value);
        }
      }
    });
  }

  fitTheFrame();
  watchInput(document);
  watchTerminal();
  watchIdle();
  setUpControls();
  setUpChecks();
  pollStatus();
}
