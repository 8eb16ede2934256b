//! hookbox.js and the demo page in a real browser: Debian's Chromium, headless, driven over
//! the DevTools protocol. Without Chromium these tests say so in one line and pass, except
//! in CI (`CI` set), where a missing browser is a failure.

mod common;

use std::sync::Mutex;

use common::browser::{Browser, Page};
use common::*;
use serde_json::json;

/// One browser at a time: the machine has two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn say(b: &mut Browser, page: &Page, text: &str) {
    let js = format!(
        "document.getElementById('text').value = {}; document.getElementById('say').requestSubmit(); true",
        json!(text)
    );
    b.eval(page, &js);
}

fn join(b: &mut Browser, server: &Server, name: &str, query: &str) -> Page {
    let page = b.open(&server.url(&format!("/{query}")));
    b.wait(
        &page,
        "window.demo && demo.conn() && demo.conn().connected",
        "the demo to connect",
    );
    let js = format!(
        "document.getElementById('name').value = {}; document.getElementById('join').requestSubmit(); true",
        json!(name)
    );
    b.eval(&page, &js);
    b.wait(
        &page,
        &format!("demo.conn().username === {}", json!(name)),
        "the new name",
    );
    b.wait(
        &page,
        "demo.lines().some(l => l.includes('you joined #lobby'))",
        "joining lobby",
    );
    page
}

fn has_line(b: &mut Browser, page: &Page, text: &str) {
    b.wait(
        page,
        &format!("demo.lines().some(l => l.includes({}))", json!(text)),
        &format!("the line {text:?}"),
    );
}

#[test]
fn two_pages_chat_over_websocket_and_presence_follows_tabs() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut b) = Browser::launch("two_pages_chat") else {
        return;
    };
    let server = Server::start(&[]);
    let ann = join(&mut b, &server, "ann", "");
    let bob = join(&mut b, &server, "bob", "");
    assert_eq!(b.eval(&ann, "demo.conn()._csp"), json!(false));
    b.wait(
        &ann,
        "demo.people().join() === 'ann,bob'",
        "both in ann's list",
    );
    say(&mut b, &ann, "hello bob");
    has_line(&mut b, &bob, "ann: hello bob");
    say(&mut b, &bob, "hi ann");
    has_line(&mut b, &ann, "bob: hi ann");
    // A REST publish reaches the pages too.
    server.rest(
        "publish",
        &[
            ("channel_name", "lobby"),
            ("payload", "{\"text\": \"from the app\"}"),
        ],
    );
    has_line(&mut b, &ann, "from the app");
    // Closing a tab: the other sees bob leave.
    b.close(bob);
    b.wait(
        &ann,
        "demo.people().join() === 'ann'",
        "bob gone from the list",
    );
    has_line(&mut b, &ann, "bob left");
    // A new tab gets the history.
    let carol = join(&mut b, &server, "carol", "");
    has_line(&mut b, &carol, "ann: hello bob");
    if let Some(path) = std::env::var_os("HOOKBOX_SCREENSHOT") {
        say(&mut b, &carol, "hello everyone");
        has_line(&mut b, &ann, "carol: hello everyone");
        b.screenshot(&ann, std::path::Path::new(&path));
    }
}

#[test]
fn a_page_forced_onto_csp_talks_to_one_on_websocket() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut b) = Browser::launch("csp_and_websocket") else {
        return;
    };
    let server = Server::start(&[]);
    let comet = join(&mut b, &server, "comet", "?transport=csp");
    let ws = join(&mut b, &server, "socket", "");
    assert_eq!(b.eval(&comet, "demo.conn()._csp"), json!(true));
    assert_eq!(b.eval(&ws, "demo.conn()._csp"), json!(false));
    say(&mut b, &comet, "over comet");
    has_line(&mut b, &ws, "comet: over comet");
    say(&mut b, &ws, "over websocket");
    has_line(&mut b, &comet, "socket: over websocket");
    b.wait(
        &comet,
        "demo.people().join() === 'comet,socket'",
        "presence over CSP",
    );
}

#[test]
fn pages_come_back_after_a_server_restart_with_what_history_holds() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut b) = Browser::launch("server_restart") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut server = Server::start_raw(&["-p", &port, "-r", TOKEN]);
    let ann = join(&mut b, &server, "ann", "");
    let bob = join(&mut b, &server, "bob", "?transport=csp");
    say(&mut b, &ann, "before the restart");
    has_line(&mut b, &bob, "ann: before the restart");
    server.signal("TERM");
    assert_eq!(server.wait_exit(), Some(0));
    server = Server::start_raw(&["-p", &port, "-r", TOKEN]);
    // Published while the pages are still reconnecting.
    for n in 1..=3 {
        server.rest(
            "publish",
            &[
                ("channel_name", "lobby"),
                ("payload", &format!("{{\"text\": \"gap {n}\"}}")),
            ],
        );
    }
    for page in [&ann, &bob] {
        for n in 1..=3 {
            has_line(&mut b, page, &format!("gap {n}"));
        }
        b.wait(page, "demo.conn().connected", "reconnected");
    }
    // Each gap message shows once, and the conversation goes on.
    let count = b.eval(&ann, "demo.lines().filter(l => l.includes('gap 2')).length");
    assert_eq!(count, json!(1));
    say(&mut b, &bob, "after the restart");
    has_line(&mut b, &ann, "bob: after the restart");
}

/// An example's one command, with its own ports, stopped (with its hookbox) when dropped.
struct Example {
    child: std::process::Child,
    hookbox: u16,
    app: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Example {
    fn start(name: &str) -> Example {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let (hookbox, app) = (free_port(), free_port());
        let mut child = std::process::Command::new("python3")
            .arg(format!("examples/{name}/app.py"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("HOOKBOX_BIN", env!("CARGO_BIN_EXE_hookbox"))
            .env("HOOKBOX_PORT", hookbox.to_string())
            .env("APP_PORT", app.to_string())
            .env("CPU_INTERVAL", "0.2")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .expect("python3 runs the example");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if line.starts_with("example: open") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("the example did not start");
        Example {
            child,
            hookbox,
            app,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.app)
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        // The example and the hookbox it started share a process group.
        let _ = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("kill -TERM -{} 2>/dev/null", self.child.id()),
            ])
            .status();
        let _ = self.child.wait();
        let _ = self.hookbox;
    }
}

fn chat_login(b: &mut Browser, ex: &Example, name: &str) -> Page {
    let page = b.open_private(&ex.url());
    b.wait(&page, "!!document.getElementById('name')", "the login form");
    b.eval(&page, &format!("document.getElementById('name').value = {}; document.querySelector('form').submit(); true", json!(name)));
    b.wait(
        &page,
        "window.chat && document.getElementById('me').textContent",
        "the chat page",
    );
    page
}

#[test]
fn example_chat_names_from_login_filters_words_and_keeps_history() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut b) = Browser::launch("example_chat") else {
        return;
    };
    let ex = Example::start("chat");
    let ann = chat_login(&mut b, &ex, "ann");
    let bob = chat_login(&mut b, &ex, "bob");
    b.wait(
        &ann,
        "document.getElementById('people').textContent.includes('bob')",
        "presence",
    );
    b.eval(&ann, "document.getElementById('text').value = 'what the heck'; document.getElementById('say').requestSubmit(); true");
    b.wait(
        &bob,
        "chat.lines().includes('ann: what the ****')",
        "the filtered message",
    );
    // Whoever joins later is greeted by the history.
    let cat = chat_login(&mut b, &ex, "cat");
    b.wait(
        &cat,
        "chat.lines().includes('ann: what the ****')",
        "history on join",
    );
    // Without the login cookie the connect hook refuses.
    let anon = b.open_private(&format!("http://127.0.0.1:{}/", ex.hookbox));
    b.wait(&anon, "!!window.hookbox", "hookbox.js");
    let refused = b.eval(
        &anon,
        &format!(
            "new Promise(function (ok) {{ var c = hookbox.connect('http://127.0.0.1:{}/'); c.onError = function (e) {{ ok(e.msg); }}; }})",
            ex.hookbox
        ),
    );
    assert_eq!(refused, json!("log in first"));
}

#[test]
fn example_cpu_graph_fills_from_the_rest_publisher() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut b) = Browser::launch("example_cpu") else {
        return;
    };
    let ex = Example::start("cpu");
    let page = b.open(&ex.url());
    b.wait(
        &page,
        "window.cpu && cpu.points() >= 3",
        "three samples on the graph",
    );
    let text = b.eval(&page, "document.getElementById('now').textContent");
    assert!(text.as_str().unwrap().starts_with("cpu "), "{text}");
}

#[test]
fn example_game_enforces_the_rules_through_the_publish_hook() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut b) = Browser::launch("example_game") else {
        return;
    };
    let ex = Example::start("game");
    let mut players = Vec::new();
    for name in ["ann", "bob"] {
        let p = b.open(&ex.url());
        b.wait(&p, "!!window.game", "the game page");
        b.eval(&p, &format!("document.getElementById('name').value = {}; document.getElementById('join').click(); true", json!(name)));
        b.wait(&p, "!document.getElementById('sit').disabled", "joined");
        b.eval(&p, "document.getElementById('sit').click(); true");
        b.wait(
            &p,
            &format!(
                "game.state() && Object.values(game.state().players).includes({})",
                json!(name)
            ),
            "seated",
        );
        players.push(p);
    }
    let (ann, bob) = (&players[0], &players[1]);
    let click = |b: &mut Browser, p: &Page, cell: u32| {
        b.eval(
            p,
            &format!("document.querySelectorAll('#board button')[{cell}].click(); true"),
        );
    };
    click(&mut b, ann, 4);
    b.wait(
        bob,
        "game.state().board[4] === 'X'",
        "ann's move on bob's board",
    );
    click(&mut b, bob, 4);
    b.wait(
        bob,
        "game.msg() === 'that cell is taken'",
        "a taken cell refused",
    );
    click(&mut b, ann, 0);
    b.wait(
        ann,
        "game.msg() === 'it is not your turn'",
        "out of turn refused",
    );
    for (p, cell) in [(bob, 1), (ann, 0), (bob, 2), (ann, 8)] {
        click(&mut b, p, cell);
        b.wait(
            ann,
            &format!("game.state().board[{cell}] !== ''"),
            "the move",
        );
    }
    b.wait(
        bob,
        "game.state().winner === 'X'",
        "ann wins on the diagonal",
    );
}

#[test]
fn the_admin_page_shows_a_live_channel() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut b) = Browser::launch("admin_live_channel") else {
        return;
    };
    let server = Server::start(&["-a", "opensesame"]);
    let admin = b.open(&server.url("/admin"));
    b.wait(
        &admin,
        "!!document.getElementById('password')",
        "the login form",
    );
    // A wrong password is refused on the page.
    b.eval(
        &admin,
        "document.getElementById('password').value = 'nope'; document.getElementById('login').requestSubmit(); true",
    );
    b.wait(
        &admin,
        "document.getElementById('loginerr').textContent === 'wrong password'",
        "the refusal",
    );
    b.eval(
        &admin,
        "document.getElementById('password').value = 'opensesame'; document.getElementById('login').requestSubmit(); true",
    );
    b.wait(
        &admin,
        "document.getElementById('live').textContent === 'live'",
        "the live feed",
    );
    assert_eq!(
        b.eval(&admin, "location.href.includes('opensesame')"),
        json!(false)
    );
    b.eval(&admin, "admin.showTab('channels'); true");
    b.wait(
        &admin,
        "document.getElementById('chanrows').textContent.includes('lobby')",
        "lobby in the channel list",
    );
    b.eval(
        &admin,
        "document.querySelector('#chanrows a').click(); true",
    );
    b.wait(
        &admin,
        "document.getElementById('options').value.includes('history_size')",
        "lobby's options",
    );
    // A user joins in another tab and talks: the admin sees it as it happens.
    let ann = join(&mut b, &server, "ann", "");
    b.wait(
        &admin,
        "document.getElementById('events').textContent.includes('SUBSCRIBE ann')",
        "ann's join",
    );
    b.wait(
        &admin,
        "document.getElementById('subrows').textContent.includes('ann')",
        "ann among the subscribers",
    );
    say(&mut b, &ann, "hi from ann");
    b.wait(
        &admin,
        "document.getElementById('events').textContent.includes('hi from ann')",
        "ann's message",
    );
    // Publishing as admin reaches the chat.
    b.eval(
        &admin,
        "document.getElementById('payload').value = '{\"text\": \"admin here\"}'; document.getElementById('pubform').requestSubmit(); true",
    );
    has_line(&mut b, &ann, "admin: admin here");
    // Options edited on the page are the channel's.
    b.eval(
        &admin,
        "var o = JSON.parse(document.getElementById('options').value); o.history_size = 7; document.getElementById('options').value = JSON.stringify(o); document.getElementById('optform').requestSubmit(); true",
    );
    eventually("history_size 7", || {
        let info = server.rest("get_channel_info", &[("channel_name", "lobby")]);
        (info[1]["options"]["history_size"] == json!(7)).then_some(())
    });
    assert_eq!(
        b.eval(&admin, "document.getElementById('opterr').textContent"),
        json!("")
    );
    // The overview counts ann.
    b.eval(&admin, "admin.showTab('overview'); true");
    b.wait(
        &admin,
        "document.querySelector('#stat-users b') && document.querySelector('#stat-users b').textContent === '1'",
        "one user in the overview",
    );
}
