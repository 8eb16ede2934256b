//! The README's curl commands, run verbatim (but for the port) against the real server.

mod common;

use std::process::Command;

use common::*;
use serde_json::{json, Value};

#[test]
fn readme_curl_commands_work() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let commands: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("curl http://127.0.0.1:8001/"))
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    let server = Server::start_raw(&["-p", "0", "-r", "secret"]);
    let mut page = Client::login(&server, "reader");
    page.subscribe("lobby");
    let port = server.addr.port().to_string();
    let mut answers = Vec::new();
    for cmd in &commands {
        let cmd = cmd.replace("127.0.0.1:8001", &format!("127.0.0.1:{port}"));
        let out = Command::new("sh")
            .args(["-c", &format!("{cmd} -s")])
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd}");
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        answers.push(answer);
    }
    assert_eq!(answers[0], json!([true, {}]));
    assert_eq!(answers[1][1]["subscribers"], json!(["reader"]));
    let p = page.expect("PUBLISH");
    assert_eq!(
        p[2]["payload"],
        json!({"user": "curl", "text": "hello from curl"})
    );
}

#[test]
fn readme_admin_commands_work() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let lines: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("TOKEN=$(curl") || l.contains("/admin/api/overview -H"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let server = Server::start_raw(&["-p", "0", "-a", "adminpw"]);
    let port = server.addr.port().to_string();
    let script = lines
        .join("\n")
        .replace("127.0.0.1:8001", &format!("127.0.0.1:{port}"));
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{script}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer[0], json!(true));
    assert_eq!(answer[1]["channels"], json!(1));
}
