/* hookbox.js: the browser side of hookbox, with Hookbox's API.
 *
 *   var conn = hookbox.connect("http://127.0.0.1:8001/", {name: "ann"});
 *   conn.onOpen = function (args) { ... };
 *   conn.subscribe("chat");                       // or .subscribe("chat").then(...)
 *   conn.onSubscribed = function (name, sub) { sub.onPublish = function (f) { ... }; };
 *   conn.publish("chat", {text: "hi"});
 *
 * WebSocket first, CSP long-poll when WebSocket is missing or fails; options.transport
 * ("websocket" or "csp") forces one. A lost connection comes back by itself, with backoff,
 * and every subscription resumes with `since`, so nothing published meanwhile is missed.
 */
(function (global) {
  "use strict";

  function noop() {}
  function each(list, f) { for (var i = 0; i < list.length; i++) f(list[i], i); }

  function Subscription(conn, args) {
    this._conn = conn;
    this.channelName = args.channel_name;
    this.canceled = false;
    this._take(args, false);
  }
  Subscription.prototype.onPublish = noop;
  Subscription.prototype.onSubscribe = noop;
  Subscription.prototype.onUnsubscribe = noop;
  Subscription.prototype.onState = noop;
  /* Called instead of onSubscribed when a lost connection came back (args.recovered says
   * whether every missed message followed). */
  Subscription.prototype.onResume = noop;
  /* A fresh subscription counts what its history holds as seen; a resumed one keeps its
   * count (the missed messages follow), unless the channel is a new one since (the server
   * restarted: it sends again all it has). */
  Subscription.prototype._take = function (args, resuming) {
    var self = this;
    this.history = args.history || [];
    this.historySize = args.history_size || 0;
    this.state = args.state || {};
    this.presence = args.presence || [];
    if (!resuming) {
      each(this.history, function (h) {
        if (h[0] === "PUBLISH" && typeof h[1].seq === "number") self.lastSeq = h[1].seq;
      });
    } else if (args.epoch !== this.epoch) {
      this.lastSeq = undefined;
    }
    this.epoch = args.epoch;
  };
  Subscription.prototype.publish = function (data) { this._conn.publish(this.channelName, data); };
  Subscription.prototype.cancel = function () {
    if (this.canceled) return;
    delete this._conn._wanted[this.channelName];
    this._conn._send("UNSUBSCRIBE", {channel_name: this.channelName});
  };
  Subscription.prototype._keep = function (entry) {
    if (!this.historySize) return;
    this.history.push(entry);
    while (this.history.length > this.historySize) this.history.shift();
  };
  Subscription.prototype._frame = function (name, args) {
    var i;
    if (name === "PUBLISH") {
      if (typeof args.seq === "number") {
        if (this.lastSeq !== undefined && args.seq <= this.lastSeq) return; // seen already
        this.lastSeq = args.seq;
      }
      this._keep(["PUBLISH", {user: args.user, payload: args.payload}]);
      this.onPublish(args);
    } else if (name === "SUBSCRIBE") {
      this._keep(["SUBSCRIBE", {user: args.user}]);
      if (this.presence.indexOf(args.user) < 0) this.presence.push(args.user);
      this.onSubscribe(args);
    } else if (name === "UNSUBSCRIBE") {
      this._keep(["UNSUBSCRIBE", {user: args.user}]);
      i = this.presence.indexOf(args.user);
      if (i >= 0) this.presence.splice(i, 1);
      this.onUnsubscribe(args);
    } else if (name === "STATE_UPDATE") {
      each(args.deletes || [], function (k) { delete this.state[k]; }.bind(this));
      for (var k in args.updates) this.state[k] = args.updates[k];
      this.onState(args);
    }
  };

  /* ----- transports: open(onData, onOpen, onClose), send(text), close() ----- */

  function WebSocketTransport(base) {
    this.url = base.replace(/^http/, "ws") + "ws";
  }
  WebSocketTransport.prototype.open = function (onData, onOpen, onClose) {
    var ws = this.ws = new WebSocket(this.url), done = false;
    ws.onopen = onOpen;
    ws.onmessage = function (e) { onData(e.data); };
    ws.onclose = ws.onerror = function () { if (!done) { done = true; onClose(); } };
  };
  WebSocketTransport.prototype.send = function (text) { this.ws.send(text); };
  WebSocketTransport.prototype.close = function () { if (this.ws) this.ws.close(); };

  /* CSP, as Hookbox's server speaks it: answers are `(json)`. */
  function CspTransport(base) {
    this.base = base + "csp/";
    this.ack = 0;
    this.sent = 0;
    this.closed = false;
    this.queue = [];
    this.sending = false;
  }
  CspTransport.prototype._post = function (call, query, body, ok, fail) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", this.base + call + "?" + query + "&n=" + Math.random());
    xhr.setRequestHeader("Content-Type", "text/plain");
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) return;
      var text = xhr.responseText.replace(/^\s+|\s+$/g, "");
      if (xhr.status !== 200) return fail(xhr.status, text);
      try { ok(JSON.parse(text.slice(1, -1))); } catch (e) { fail(0, text); }
    };
    xhr.send(body);
  };
  CspTransport.prototype.open = function (onData, onOpen, onClose) {
    var self = this;
    this.onClose = function () { if (!self.closed) { self.closed = true; onClose(); } };
    this._post("handshake", "ct=text/plain", "{}", function (r) {
      self.key = r.session;
      onOpen();
      self._poll(onData);
    }, this.onClose);
  };
  CspTransport.prototype._poll = function (onData) {
    var self = this;
    if (this.closed) return;
    this._post("comet", "s=" + this.key + "&a=" + this.ack + "&du=30", "", function (packets) {
      for (var i = 0; i < packets.length; i++) {
        var p = packets[i];
        if (p[0] <= self.ack) continue;
        self.ack = p[0];
        if (p[2] === null) return self.onClose();
        onData(p[1] === 1 ? atob(p[2].replace(/-/g, "+").replace(/_/g, "/")) : p[2]);
      }
      self._poll(onData);
    }, function () { self.onClose(); });
  };
  CspTransport.prototype.send = function (text) {
    this.queue.push([++this.sent, 0, text]);
    this._flush();
  };
  CspTransport.prototype._flush = function () {
    var self = this, batch;
    if (this.sending || !this.queue.length || this.closed) return;
    this.sending = true;
    batch = this.queue.slice();
    this._post("send", "s=" + this.key + "&a=" + this.ack, JSON.stringify(batch), function () {
      self.queue = self.queue.slice(batch.length);
      self.sending = false;
      self._flush();
    }, function () { self.sending = false; self.onClose(); });
  };
  CspTransport.prototype.close = function () {
    if (this.key && !this.closed) this._post("close", "s=" + this.key, "", noop, noop);
    this.closed = true;
  };

  /* ----- the connection ----- */

  function Connection(url, payload, cookieString, options) {
    this.url = url;
    this.options = options || {};
    this._payload = payload;
    this._cookie = cookieString;
    this.connected = false;
    this.username = null;
    this._wanted = {};        // channel name -> [callbacks] (subscriptions to keep)
    this._subscriptions = {}; // channel name -> Subscription
    this._pending = [];       // frames waiting for CONNECTED
    this._id = 0;
    this._delay = 1000;
    this._csp = this.options.transport === "csp" || typeof WebSocket === "undefined";
    this._start();
  }
  Connection.prototype.onOpen = noop;
  Connection.prototype.onClose = noop;
  Connection.prototype.onConnectionLost = noop;
  Connection.prototype.onError = noop;
  Connection.prototype.onSubscribed = noop;
  Connection.prototype.onUnsubscribed = noop;
  Connection.prototype.onMessaged = noop;

  Connection.prototype._start = function () {
    var self = this, t = this._csp ? new CspTransport(this.url) : new WebSocketTransport(this.url);
    var opened = false, buffer = "";
    this._transport = t;
    t.open(function (data) {
      buffer += data;
      var i;
      while ((i = buffer.indexOf("\n")) >= 0) {
        var line = buffer.slice(0, i).replace(/\r$/, "");
        buffer = buffer.slice(i + 1);
        if (line) self._line(line);
      }
    }, function () {
      opened = true;
      var cookie = self._cookie !== undefined ? self._cookie : (global.document ? document.cookie : "");
      self._raw("CONNECT", {cookie_string: cookie || "", payload: JSON.stringify(self._payload === undefined ? null : self._payload)});
    }, function () {
      var was = self.connected;
      self.connected = false;
      if (self._closing) return self.onClose();
      if (!opened && !was && !self._csp && self.options.transport !== "websocket") {
        self._csp = true; // no WebSocket here: fall back to CSP
        return self._start();
      }
      if (was) self.onConnectionLost("connection lost");
      if (self.options.reconnect === false) return self.onClose();
      setTimeout(function () { if (!self._closing) self._start(); }, self._delay * (0.75 + Math.random() / 2));
      self._delay = Math.min(self._delay * 2, 30000);
    });
  };

  Connection.prototype._raw = function (name, args) {
    this._transport.send(JSON.stringify([++this._id, name, args]) + "\r\n");
    return this._id;
  };
  Connection.prototype._send = function (name, args) {
    if (this.connected) return this._raw(name, args);
    this._pending.push([name, args]);
  };

  Connection.prototype._line = function (line) {
    var f;
    try { f = JSON.parse(line); } catch (e) { return; }
    var name = f[1], args = f[2] || {}, sub = this._subscriptions[args.channel_name];
    if (name === "CONNECTED") {
      var resumed = this.username !== null;
      this.connected = true;
      this.username = args.name;
      this._delay = 1000;
      for (var ch in this._wanted) {
        var s = this._subscriptions[ch], a = {channel_name: ch};
        if (s && s.lastSeq !== undefined) { a.since = s.lastSeq; a.epoch = s.epoch; }
        this._raw("SUBSCRIBE", a);
      }
      var pending = this._pending;
      this._pending = [];
      each(pending, function (p) { this._raw(p[0], p[1]); }.bind(this));
      if (!resumed) this.onOpen(args);
    } else if (name === "SUBSCRIBE" && args.user === this.username && "history" in args) {
      var callbacks = this._wanted[args.channel_name];
      if (sub && !sub.canceled) {
        sub._take(args, true);
        sub.onResume(args);
      } else {
        sub = this._subscriptions[args.channel_name] = new Subscription(this, args);
        this._wanted[args.channel_name] = [];
        this.onSubscribed(args.channel_name, sub, args);
      }
      each(callbacks || [], function (cb) { cb(sub); });
    } else if (name === "UNSUBSCRIBE" && args.user === this.username && sub) {
      sub.canceled = true;
      delete this._subscriptions[args.channel_name];
      delete this._wanted[args.channel_name];
      sub._frame(name, args);
      this.onUnsubscribed(sub, args);
    } else if (sub && (name === "PUBLISH" || name === "SUBSCRIBE" || name === "UNSUBSCRIBE" || name === "STATE_UPDATE")) {
      sub._frame(name, args);
    } else if (name === "MESSAGE") {
      this.onMessaged(args);
    } else if (name === "ERROR") {
      this.onError(args);
    } else if (name === "SET_COOKIE" && global.document) {
      document.cookie = args.cookie;
    }
  };

  /* subscribe(name[, callback]): the callback, or the returned promise, gets the subscription. */
  Connection.prototype.subscribe = function (name, callback) {
    var self = this, promise;
    var list = this._wanted[name] = this._wanted[name] || [];
    if (typeof Promise !== "undefined" && !callback) {
      promise = new Promise(function (resolve) { list.push(resolve); });
    } else if (callback) {
      list.push(callback);
    }
    if (this._subscriptions[name]) {
      each(list.splice(0), function (cb) { cb(self._subscriptions[name]); });
    } else if (this.connected) {
      this._raw("SUBSCRIBE", {channel_name: name});
    } // else CONNECTED subscribes to every wanted channel
    return promise;
  };
  Connection.prototype.publish = function (name, data) {
    this._send("PUBLISH", {channel_name: name, payload: JSON.stringify(data === undefined ? null : data)});
  };
  Connection.prototype.message = function (name, payload) {
    this._send("MESSAGE", {name: name, payload: JSON.stringify(payload === undefined ? null : payload)});
  };
  Connection.prototype.disconnect = function () {
    this._closing = true;
    this.connected = false;
    this._transport.close();
  };

  function base(url) {
    if (!url) url = global.location ? global.location.protocol + "//" + global.location.host + "/" : "http://127.0.0.1:8001/";
    if (!/\/$/.test(url)) url += "/";
    if (global.location && global.location.protocol === "https:") url = url.replace(/^http:/, "https:");
    return url;
  }

  global.hookbox = {
    version: "0.1",
    connect: function (url, connectPayload, cookieString, options) {
      return new Connection(base(url), connectPayload, cookieString, options);
    }
  };
})(this);
