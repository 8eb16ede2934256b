// The demo chat: RTJP frames over /ws, written out by hand to show the wire protocol.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var status = document.getElementById("status");
  var input = document.getElementById("text");
  var button = document.querySelector("#say button");
  var nextId = 0;
  var ws;

  function line(text, cls) {
    var p = document.createElement("p");
    if (cls) p.className = cls;
    p.textContent = text;
    log.appendChild(p);
    log.scrollTop = log.scrollHeight;
  }

  function send(name, args) {
    ws.send(JSON.stringify([++nextId, name, args]) + "\r\n");
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/ws");
    var pending = "";
    ws.onopen = function () {
      send("CONNECT", { cookie_string: document.cookie, payload: "null" });
    };
    ws.onmessage = function (ev) {
      pending += ev.data;
      var lines = pending.split("\n");
      pending = lines.pop();
      lines.forEach(function (l) {
        if (l.trim()) handle(JSON.parse(l));
      });
    };
    ws.onclose = function () {
      status.textContent = "disconnected; retrying in 2 s";
      input.disabled = button.disabled = true;
      setTimeout(connect, 2000);
    };
  }

  function handle(frame) {
    var name = frame[1], args = frame[2];
    if (name === "CONNECTED") {
      status.textContent = "connected as " + args.name;
      send("SUBSCRIBE", { channel_name: "lobby" });
    } else if (name === "SUBSCRIBE" && args.history) {
      input.disabled = button.disabled = false;
      input.focus();
      line("joined #" + args.channel_name, "sys");
    } else if (name === "PUBLISH") {
      var p = args.payload;
      var text = p && typeof p === "object" && "text" in p ? p.text : JSON.stringify(p);
      line((args.user || "server") + ": " + text);
    } else if (name === "ERROR") {
      line("error: " + args.msg, "sys");
    }
  }

  document.getElementById("say").onsubmit = function (ev) {
    ev.preventDefault();
    if (!input.value) return;
    send("PUBLISH", { channel_name: "lobby", payload: JSON.stringify({ text: input.value }) });
    input.value = "";
  };

  connect();
})();
