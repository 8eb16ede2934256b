"""Tic-tac-toe for two, and anyone watching: every move goes through the publish webhook,
which enforces the rules.

    python3 examples/game/app.py        # then open http://127.0.0.1:8002/ in two tabs

The browsers publish what they want ({"sit": true}, {"move": 4}, {"reset": true}) on the
channel `ttt`. The application answers each publish hook: a legal move is allowed, with
`override_payload` carrying the whole board as it now is; anything else is denied with the
reason, which reaches only the player who tried. Python standard library only.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import launch  # noqa: E402

SECRET = os.urandom(16).hex()
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
lock = threading.Lock()
game = {"board": [""] * 9, "players": {}, "turn": "X", "winner": None}


def public():
    return {"board": game["board"], "players": game["players"], "turn": game["turn"], "winner": game["winner"]}


def winner(board):
    for a, b, c in LINES:
        if board[a] and board[a] == board[b] == board[c]:
            return board[a]
    return "draw" if all(board) else None


def play(user, wish):
    """The rules: returns the new public game, or the reason the wish is refused."""
    with lock:
        players = game["players"]
        if wish.get("reset"):
            game.update(board=[""] * 9, players={}, turn="X", winner=None)
            return public(), None
        if wish.get("sit"):
            if user in players.values():
                return None, "you are already playing"
            free = [m for m in ("X", "O") if m not in players]
            if not free:
                return None, "both seats are taken"
            players[free[0]] = user
            return public(), None
        move = wish.get("move")
        if not isinstance(move, int) or not 0 <= move < 9:
            return None, "a move is a cell from 0 to 8"
        if game["winner"]:
            return None, "the game is over"
        if players.get(game["turn"]) != user:
            return None, "it is not your turn"
        if game["board"][move]:
            return None, "that cell is taken"
        game["board"][move] = game["turn"]
        game["winner"] = winner(game["board"])
        game["turn"] = "O" if game["turn"] == "X" else "X"
        return public(), None


def hook(action, form):
    if form.get("secret") != SECRET:
        return [False, {"error": "bad secret"}]
    if action == "connect":
        payload = json.loads(form.get("payload") or "null") or {}
        name = str(payload.get("name") or "").strip()[:24]
        return [True, {"name": name}] if name.isalnum() else [False, {"error": "pick a name of letters and digits"}]
    if action == "create_channel":
        return [True, {"presenceful": True, "history_size": 1}]
    if action == "publish":
        wish = json.loads(form.get("payload") or "null")
        if not isinstance(wish, dict):
            return [False, {"error": "not a move"}]
        state, refusal = play(form.get("originator"), wish)
        if refusal:
            return [False, {"error": refusal}]
        return [True, {"override_payload": state}]
    return [True, {}]


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tic-tac-toe</title>
<style>body { font: 16px system-ui, sans-serif; margin: 2em auto; max-width: 30em; }
#board { display: grid; grid-template-columns: repeat(3, 5em); gap: 4px; margin: 1em 0; }
#board button { height: 5em; font-size: 1.6em; } #msg { color: #a33; min-height: 1.4em; }</style>
</head><body><h1>tic-tac-toe</h1>
<p><input id="name" placeholder="your name"> <button id="join">Join</button>
<button id="sit" disabled>Take a seat</button> <button id="reset" disabled>New game</button></p>
<p id="status">not connected</p><div id="board"></div><p id="msg"></p>
<script src="HOOKBOX/static/hookbox.js"></script>
<script>
var conn, state = null, cells = [];
var $ = function (id) { return document.getElementById(id); };
for (var i = 0; i < 9; i++) (function (i) {
  var b = document.createElement("button"); b.onclick = function () { conn && conn.publish("ttt", {move: i}); };
  $("board").appendChild(b); cells.push(b);
})(i);
function show(s) {
  state = s;
  s.board.forEach(function (m, i) { cells[i].textContent = m; });
  var who = function (m) { return s.players[m] || "(free)"; };
  $("status").textContent = "X: " + who("X") + ", O: " + who("O") + ". " +
    (s.winner ? (s.winner === "draw" ? "A draw." : s.winner + " wins.") : s.turn + " to play.");
}
$("join").onclick = function () {
  conn = hookbox.connect("HOOKBOX/", {name: $("name").value});
  conn.onError = function (e) { $("msg").textContent = e.msg; };
  conn.onOpen = function () { $("sit").disabled = $("reset").disabled = false; $("msg").textContent = ""; };
  conn.onSubscribed = function (name, sub) {
    sub.history.forEach(function (h) { if (h[0] === "PUBLISH") show(h[1].payload); });
    sub.onPublish = function (f) { $("msg").textContent = ""; show(f.payload); };
  };
  conn.subscribe("ttt");
};
$("sit").onclick = function () { conn.publish("ttt", {sit: true}); };
$("reset").onclick = function () { conn.publish("ttt", {reset: true}); };
window.game = { state: function () { return state; }, msg: function () { return $("msg").textContent; } };
</script></body></html>"""


class App(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path != "/":
            return self.send(404, "not found", "text/plain")
        self.send(200, PAGE.replace("HOOKBOX", launch.HOOKBOX), "text/html; charset=utf-8")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
        answer = hook(form.get("action", ""), form) if self.path.startswith("/hookbox/") else [False, {}]
        self.send(200, json.dumps(answer), "application/json")


if __name__ == "__main__":
    launch.start_hookbox("--cbport", str(launch.APP_PORT), "-s", SECRET)
    launch.serve(App)
