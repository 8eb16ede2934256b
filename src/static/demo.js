// The demo chat: hookbox.js on channel "lobby" (presenceful, with history, in open mode).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var transport = /[?&]transport=(\w+)/.exec(location.search);
  var conn = null, lobby = null;

  function line(cls, who, text) {
    var p = document.createElement("p");
    if (cls) p.className = cls;
    if (who) {
      var b = document.createElement("span");
      b.className = "who";
      b.textContent = who + ": ";
      p.appendChild(b);
    }
    p.appendChild(document.createTextNode(text));
    $("log").appendChild(p);
    $("log").scrollTop = $("log").scrollHeight;
  }

  function textOf(payload) {
    return payload && typeof payload === "object" && "text" in payload ? String(payload.text) : JSON.stringify(payload);
  }

  function showPeople() {
    var ul = $("names");
    ul.innerHTML = "";
    (lobby ? lobby.presence : []).slice().sort().forEach(function (n) {
      var li = document.createElement("li");
      li.textContent = n;
      ul.appendChild(li);
    });
  }

  function attach(sub) {
    lobby = sub;
    sub.onPublish = function (f) { line("", f.user || "server", textOf(f.payload)); };
    sub.onSubscribe = function (f) { line("sys", "", f.user + " joined"); showPeople(); };
    sub.onUnsubscribe = function (f) { line("sys", "", f.user + " left"); showPeople(); };
    sub.onResume = function () { line("sys", "", "back online"); showPeople(); };
    showPeople();
  }

  function join(name) {
    if (conn) conn.disconnect();
    $("log").innerHTML = "";
    lobby = null;
    showPeople();
    sessionStorage.setItem("hookbox-demo-name", name);
    conn = hookbox.connect("/", {name: name}, "", {transport: transport ? transport[1] : "auto"});
    conn.onOpen = function (args) {
      $("status").textContent = "connected as " + args.name + " over " + (conn._csp ? "CSP" : "WebSocket");
      $("text").disabled = $("send").disabled = false;
      $("text").focus();
    };
    conn.onConnectionLost = function () {
      $("status").textContent = "connection lost; reconnecting...";
    };
    conn.onError = function (e) { line("sys", "", "error: " + e.msg); };
    conn.onSubscribed = function (channel, sub) {
      sub.history.forEach(function (h) {
        if (h[0] === "PUBLISH") line("old", h[1].user || "server", textOf(h[1].payload));
      });
      line("sys", "", "you joined #" + channel);
      attach(sub);
    };
    conn.subscribe("lobby");
  }

  $("join").onsubmit = function (e) {
    e.preventDefault();
    var name = $("name").value.replace(/\s+/g, "_") || "guest";
    join(name);
  };
  $("say").onsubmit = function (e) {
    e.preventDefault();
    if (!$("text").value || !conn) return;
    conn.publish("lobby", {text: $("text").value});
    $("text").value = "";
  };
  var saved = sessionStorage.getItem("hookbox-demo-name");
  $("name").value = saved || "guest" + Math.floor(Math.random() * 1000);
  join($("name").value);
  window.demo = {
    conn: function () { return conn; },
    lines: function () { return Array.prototype.map.call($("log").querySelectorAll("p"), function (p) { return p.textContent; }); },
    people: function () { return Array.prototype.map.call($("names").querySelectorAll("li"), function (li) { return li.textContent; }); }
  };
})();
