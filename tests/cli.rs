//! The command line: help, bad flags and a busy port, each with its exit code.

mod common;

use std::process::Command;

fn hookbox(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hookbox"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_flag() {
    let (code, out, _) = hookbox(&["--help"]);
    assert_eq!(code, Some(0));
    for flag in [
        "-i, --interface",
        "-p, --port",
        "-w, --web-api-port",
        "-W, --web-api-interface",
        "-x, --ignore-missing-channels",
        "-r, --api-security-token",
        "-a, --admin-password",
        "-s, --webhook-secret",
        "-c, --cookie-identifier",
        "-L, --log-level",
        "-E, --log-file-errors",
        "-A, --log-file-access",
        "--cbhost",
        "--cbport",
        "--cbpath",
        "--cbhttps",
        "--cbtrailingslash",
        "--cb-single-url",
        "--cb-connect",
        "--cb-disconnect",
        "--cb-create-channel",
        "--cb-destroy-channel",
        "--cb-subscribe",
        "--cb-unsubscribe",
        "--cb-publish",
        "--cb-message",
        "--webhook-workers",
        "--webhook-timeout",
        "--echo-path",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}");
    }
    let (code, out, _) = hookbox(&["-V"]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), concat!("hookbox ", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn a_bad_flag_is_one_line_and_exit_2() {
    for args in [
        &["--bogus"][..],
        &["-p", "99999"],
        &["-p"],
        &["--webhook-workers", "0"],
    ] {
        let (code, out, err) = hookbox(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("hookbox: "), "{err}");
    }
}

#[test]
fn a_port_in_use_is_one_line_and_exit_2() {
    let server = common::Server::start(&[]);
    let port = server.addr.port().to_string();
    let (code, _, err) = hookbox(&["-p", &port]);
    assert_eq!(code, Some(2));
    assert_eq!(
        err.trim(),
        format!("hookbox: cannot listen on 127.0.0.1:{port}: the port is in use")
    );
}

#[test]
fn access_log_records_requests() {
    let dir = std::env::temp_dir().join(format!("hookbox-access-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let path = dir.to_str().unwrap();
    let server = common::Server::start(&["-A", path]);
    common::http_once(server.addr, b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    let line = common::eventually("the access line", || {
        let text = std::fs::read_to_string(&dir).ok()?;
        text.lines()
            .find(|l| l.contains("/nope"))
            .map(str::to_string)
    });
    assert!(line.contains("\"GET /nope HTTP/1.1\" 404"), "{line}");
    let _ = std::fs::remove_file(&dir);
}
