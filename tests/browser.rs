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
