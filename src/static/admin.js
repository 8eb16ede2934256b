// The admin console: logs in with the password, then reads the JSON API under /admin/api/
// and follows the live feed at /admin/ws (stats, log lines, webhook calls, and the frames of
// the channel on view).
(function () {
  "use strict";
  var token = sessionStorage.getItem("hookbox-admin") || "";
  var feed = null;
  var watched = null;
  var shownOptions = {};
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) {
    var tr = el("tr");
    cells.forEach(function (c) {
      var td = el("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "" : String(c);
      tr.appendChild(td);
    });
    return tr;
  }
  function pre(v) { return el("pre", v === null || v === undefined ? "" : JSON.stringify(v)); }
  function button(text, onclick) { var b = el("button", text); b.onclick = onclick; return b; }
  function link(text, onclick) { var a = el("a", text); a.onclick = onclick; return a; }
  function fill(id, rows) { var t = $(id); t.textContent = ""; rows.forEach(function (r) { t.appendChild(r); }); }

  function loggedOut(msg) {
    token = "";
    sessionStorage.removeItem("hookbox-admin");
    if (feed) { feed.onclose = null; feed.close(); feed = null; }
    $("app").hidden = true;
    $("login").hidden = false;
    $("loginerr").textContent = msg || "";
  }

  function api(name, body) {
    var init = { method: body ? "POST" : "GET", headers: { "Authorization": "Bearer " + token } };
    if (body) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch("/admin/api/" + name, init).then(function (r) {
      if (r.status === 401) { loggedOut("the session ended; log in again"); throw new Error("logged out"); }
      return r.json();
    }).then(function (answer) {
      if (!answer[0]) throw new Error(answer[1] && answer[1].msg || "failed");
      return answer[1];
    });
  }

  $("login").onsubmit = function (ev) {
    ev.preventDefault();
    fetch("/admin/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ password: $("password").value })
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
        return body;
      });
    }).then(function (body) {
      token = body.token;
      sessionStorage.setItem("hookbox-admin", token);
      $("password").value = "";
      start();
    }).catch(function (e) { $("loginerr").textContent = e.message; });
  };

  // ----- tabs -----

  var loaders = {
    overview: function () { api("overview").then(showStats).catch(function () {}); },
    channels: loadChannels,
    users: loadUsers,
    connections: loadConnections,
    webhooks: loadWebhooks,
    log: loadLog
  };
  var tab = "overview";
  Array.prototype.forEach.call(document.querySelectorAll("#tabs button"), function (b) {
    b.onclick = function () { showTab(b.getAttribute("data-tab")); };
  });
  function showTab(name) {
    tab = name;
    Array.prototype.forEach.call(document.querySelectorAll("#tabs button"), function (b) {
      b.className = b.getAttribute("data-tab") === name ? "on" : "";
    });
    Array.prototype.forEach.call(document.querySelectorAll("main section"), function (s) {
      s.className = s.id === name ? "on" : "";
    });
    loaders[name]();
  }

  function showStats(s) {
    var names = [["connections", "connections"], ["users", "users"], ["channels", "channels"],
      ["messages_per_second", "messages/s"], ["published", "published"], ["delivered", "delivered"],
      ["comet_sessions", "comet sessions"], ["webhooks_waiting", "webhooks waiting"], ["uptime_seconds", "uptime (s)"]];
    fill("cards", names.map(function (n) {
      var c = el("div", null, "card");
      c.appendChild(el("b", s[n[0]]));
      c.appendChild(el("span", n[1]));
      c.id = "stat-" + n[0];
      return c;
    }));
  }

  function loadChannels() {
    api("channels").then(function (list) {
      fill("chanrows", list.map(function (c) {
        return row([link(c.name, function () { view(c.name); }), c.subscribers, c.seq, c.history,
          c.presenceful ? "yes" : "", c.moderated ? "yes" : "", c.polling || ""]);
      }));
    }).catch(function () {});
  }

  function kick(identifier) {
    return button("Kick", function () {
      api("disconnect", { identifier: identifier }).then(function () { loaders[tab](); })
        .catch(function (e) { alert(e.message); });
    });
  }

  function loadUsers() {
    api("users").then(function (list) {
      fill("userrows", list.map(function (u) { return row([u.name, u.connections, u.channels.join(", "), kick(u.name)]); }));
    }).catch(function () {});
  }

  function loadConnections() {
    api("connections").then(function (list) {
      fill("connrows", list.map(function (c) { return row([c.id, c.user, c.remote_addr, c.waiting ? "yes" : "", kick(c.id)]); }));
    }).catch(function () {});
  }

  function hookRow(h) {
    return row([h.time, h.hook, h.url, pre(h.fields), h.status || "", pre(h.answer), h.error, h.ms]);
  }
  function loadWebhooks() {
    api("webhooks").then(function (list) { fill("hookrows", list.reverse().map(hookRow)); }).catch(function () {});
  }

  function loadLog() {
    api("log").then(function (lines) { $("logtext").textContent = lines.join("\n") + "\n"; }).catch(function () {});
  }
  function addLog(lines) {
    var t = $("logtext");
    t.textContent += lines.join("\n") + "\n";
    if (t.textContent.length > 200000) t.textContent = t.textContent.slice(-100000);
  }

  // ----- the channel on view -----

  function view(name) {
    if (watched && feed) feed.send(JSON.stringify({ unwatch: watched }));
    watched = name;
    $("chanview").hidden = false;
    $("channame").textContent = name;
    $("events").textContent = "";
    if (feed && feed.readyState === 1) feed.send(JSON.stringify({ watch: name }));
  }

  function showChannel(info) {
    if (!info) { $("opterr").textContent = "no such channel now"; return; }
    fill("subrows", info.subscribers.map(function (u) { return row([u, kick(u)]); }));
    var opts = {};
    Object.keys(info.options).forEach(function (k) { if (k !== "history" && k !== "state") opts[k] = info.options[k]; });
    opts.state = info.options.state;
    shownOptions = opts;
    $("options").value = JSON.stringify(opts, null, 2);
    $("opterr").textContent = "";
  }

  function event(text) {
    var box = $("events");
    box.appendChild(el("div", text));
    while (box.childNodes.length > 500) box.removeChild(box.firstChild);
    box.scrollTop = box.scrollHeight;
  }

  $("pubform").onsubmit = function (ev) {
    ev.preventDefault();
    $("puberr").textContent = "";
    var payload;
    try { payload = JSON.parse($("payload").value); } catch (e) { $("puberr").textContent = "the payload is not JSON"; return; }
    api("publish", { channel_name: watched, payload: payload })
      .catch(function (e) { $("puberr").textContent = e.message; });
  };

  $("optform").onsubmit = function (ev) {
    ev.preventDefault();
    var opts;
    try { opts = JSON.parse($("options").value); } catch (e) { $("opterr").textContent = "the options are not JSON"; return; }
    var changed = { channel_name: watched };
    Object.keys(opts).forEach(function (k) {
      if (JSON.stringify(opts[k]) !== JSON.stringify(shownOptions[k])) changed[k] = opts[k];
    });
    api("set_channel_options", changed).then(function () {
      return api("get_channel_info", { channel_name: watched });
    }).then(showChannel).catch(function (e) { $("opterr").textContent = e.message; });
  };

  // ----- the live feed -----

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    feed = new WebSocket(scheme + location.host + "/admin/ws");
    feed.onopen = function () {
      feed.send(JSON.stringify({ token: token }));
      if (watched) feed.send(JSON.stringify({ watch: watched }));
    };
    feed.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (Array.isArray(msg)) {
        var name = msg[1], args = msg[2] || {};
        if (args.channel_name !== watched) return;
        var who = args.user ? " " + args.user : "";
        var what = args.payload !== undefined ? " " + JSON.stringify(args.payload) : "";
        if (name === "STATE_UPDATE") what = " " + JSON.stringify(args.updates || {}) + " deleted " + JSON.stringify(args.deletes || []);
        event(new Date().toLocaleTimeString() + " " + name + who + what);
        if (name === "SUBSCRIBE" || name === "UNSUBSCRIBE") api("get_channel_info", { channel_name: watched }).then(showChannel).catch(function () {});
        return;
      }
      if (msg.type === "hello" || msg.type === "stats") {
        $("live").textContent = "live";
        if (tab === "overview") showStats(msg.stats);
      } else if (msg.type === "log") {
        if (tab === "log") addLog(msg.lines);
      } else if (msg.type === "webhook") {
        if (tab === "webhooks") $("hookrows").insertBefore(hookRow(msg.call), $("hookrows").firstChild);
      } else if (msg.type === "watching") {
        if (msg.channel === watched) showChannel(msg.info);
      }
    };
    feed.onclose = function (ev) {
      $("live").textContent = "offline";
      feed = null;
      if (ev.code === 1008) { loggedOut("the session ended; log in again"); return; }
      if (token) setTimeout(connect, 2000);
    };
  }

  function start() {
    $("login").hidden = true;
    $("app").hidden = false;
    connect();
    showTab(tab);
  }

  window.admin = { view: view, showTab: showTab };
  if (token) start();
})();
