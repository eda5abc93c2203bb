/* Studio editing of a lab: the xblock-utils editor, plus what it lacks. Each
 * error is shown next to the field it names, a list that is not valid JSON
 * is named before anything is sent, and runtimes without Studio's notify()
 * (the workbench of the demo) still show what happened. */
function HastexoLabStudio(runtime, element) {
  "use strict";
  var root = element && element.jquery ? element[0] : element;
  // The block's own translations (its i18n namespace: i18n.py), else the page's, else none.
  var gettext = window.HastexoLabI18N ? window.HastexoLabI18N.gettext
    : (typeof window.gettext === "function") ? window.gettext : function (s) { return s; };
  var saveUrl = runtime.handlerUrl(root, "submit_studio_edits");

  function status(text, kind) {
    var box = root.querySelector(".hastexo-lab-studio-status");
    if (!box) {
      box = document.createElement("p");
      box.className = "hastexo-lab-studio-status";
      box.setAttribute("role", "status");
      var actions = root.querySelector(".xblock-actions") || root;
      actions.parentNode.insertBefore(box, actions);
    }
    box.textContent = text;
    box.setAttribute("data-kind", kind);
  }

  function clearErrors() {
    Array.prototype.forEach.call(root.querySelectorAll(".hastexo-lab-field-error"), function (node) {
      node.parentNode.removeChild(node);
    });
  }

  function fieldOf(text) {
    // Our messages start with the field's label: "Weight: ...".
    var found = null;
    Array.prototype.forEach.call(root.querySelectorAll("li.field[data-field-name]"), function (item) {
      var label = item.querySelector("label.setting-label");
      if (label && text.indexOf(label.textContent.trim() + ":") === 0) { found = item; }
    });
    return found;
  }

  function showError(item, text) {
    var note = document.createElement("span");
    note.className = "hastexo-lab-field-error";
    note.setAttribute("role", "alert");
    note.textContent = text;
    item.appendChild(note);
  }

  function showMessages(messages) {
    clearErrors();
    messages.forEach(function (message) {
      var item = fieldOf(message.text);
      if (item) { showError(item, message.text); }
    });
    status(gettext("Not saved:") + " " + messages.map(function (m) { return m.text; }).join(" "), "error");
  }

  // The editor's own request: read its answer in full, with the messages.
  if (window.jQuery && jQuery.ajaxPrefilter) {
    jQuery.ajaxPrefilter(function (options, original, jqXHR) {
      if (options.url !== saveUrl) { return; }
      // Studio's jQuery sends the CSRF token with every request; elsewhere, we do.
      var token = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
      var headers = options.headers || {};
      if (token && !options.crossDomain && !headers["X-CSRFToken"]) {
        jqXHR.setRequestHeader("X-CSRFToken", decodeURIComponent(token[1]));
      }
      jqXHR.done(function () {
        clearErrors();
        status(gettext("Saved."), "saved");
      }).fail(function (response) {
        var messages = [];
        try {
          var error = JSON.parse(response.responseText).error;
          messages = (error && error.messages) ? error.messages : [{text: String(error)}];
        } catch (e) {
          messages = [{text: gettext("The server did not accept the changes.")}];
        }
        showMessages(messages);
      });
    });
  }

  // Lists and mappings are JSON text: name a field that does not parse
  // before the editor tries (and fails silently).
  var save = root.querySelector(".save-button");
  if (save) {
    save.addEventListener("click", function (event) {
      clearErrors();
      var bad = [];
      Array.prototype.forEach.call(root.querySelectorAll("li.field[data-field-name]"), function (item) {
        var area = item.querySelector("textarea.field-data-control");
        var label = item.querySelector("label.setting-label");
        if (!area || !item.classList.contains("is-set")) { return; }
        if (["generic", "list", "set"].indexOf(item.getAttribute("data-cast")) < 0) { return; }
        try {
          if (area.value.trim()) { JSON.parse(area.value); }
        } catch (e) {
          bad.push(item);
          showError(item, (label ? label.textContent.trim() + ": " : "") + gettext("not valid JSON") + " (" + e.message + ")");
        }
      });
      if (bad.length) {
        event.preventDefault();
        event.stopImmediatePropagation();
        status(gettext("Not saved: a field is not valid JSON."), "error");
      }
    }, true);
  }

  if (typeof runtime.notify !== "function") {
    // Outside Studio: no notification area, no reload of the unit. The
    // messages above say what happened.
    runtime.notify = function (name, data) {
      if (name === "save" && data && data.state === "start") { status(gettext("Saving..."), "saving"); }
      if (name === "cancel") { status(gettext("Not saved."), "cancelled"); }
    };
  }
  addTemplateCheck();
  return StudioEditableXBlockMixin(runtime, element);

  // Ask the lab's clouds (Heat's own validation) what they make of the
  // template as it is saved now.
  function addTemplateCheck() {
    var actions = root.querySelector(".xblock-actions") || root;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "hastexo-lab-check-template";
    button.textContent = gettext("Check the template at the cloud");
    var list = document.createElement("ul");
    list.className = "hastexo-lab-template-check";
    list.setAttribute("role", "status");
    list.setAttribute("aria-live", "polite");
    actions.parentNode.insertBefore(button, actions);
    actions.parentNode.insertBefore(list, actions);
    button.addEventListener("click", function () {
      list.textContent = "";
      button.disabled = true;
      fetch(runtime.handlerUrl(root, "check_template"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest",
                  "X-CSRFToken": (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || ""},
        body: "{}"
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (reply) {
        reply.results.forEach(function (result) {
          var item = document.createElement("li");
          item.setAttribute("data-ok", result.ok ? "true" : "false");
          item.textContent = (result.provider ? result.provider + ": " : "") + result.message;
          list.appendChild(item);
        });
      }, function () {
        var item = document.createElement("li");
        item.setAttribute("data-ok", "false");
        item.textContent = gettext("The check could not be run. Please try again.");
        list.appendChild(item);
      }).then(function () { button.disabled = false; });
    });
  }
}
