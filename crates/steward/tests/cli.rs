//! The `steward` binary: admin commands on both backends, first start, settings, shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use steward_store::testing;

fn steward() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.env_remove("STEWARD_DATABASE_URL")
        .env_remove("STEWARD_DATA_DIR")
        .env_remove("STEWARD_CONFIG")
        .env("STEWARD_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn last_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(url: &str, key: Option<&str>) -> (u16, String) {
    let client = reqwest::blocking::Client::new();
    let mut req = client.get(url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    match req.send() {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if get(&format!("{base}/healthz"), None).0 == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server at {base} did not become healthy");
}

/// A child process killed when dropped, so a failed test leaves no server behind.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn terminate(mut guard: Guard) -> std::process::ExitStatus {
    let mut child = guard.0.take().unwrap();
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_commands_work_on_both_backends() {
    for db in testing::backends().await {
        let url = db.url.clone();
        let label = db.label();
        let result = tokio::task::spawn_blocking(move || {
            let out = run(steward().args([
                "--database-url",
                &url,
                "enterprise",
                "create",
                "--name",
                "Acme",
            ]));
            let enterprise: uuid::Uuid = last_line(&out)
                .parse()
                .expect("the id alone on the last line");
            let out = run(steward().args([
                "--database-url",
                &url,
                "apikey",
                "create",
                "--enterprise",
                &enterprise.to_string(),
                "--name",
                "ci",
            ]));
            let key = last_line(&out);
            assert!(key.starts_with("stw_") && key.len() > 40, "{key}");
            let out = run(steward().args(["--database-url", &url, "apikey", "list"]));
            let listing = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                listing.contains("ci") && listing.contains("active"),
                "{listing}"
            );
            assert!(!listing.contains(&key), "the secret is never listed");
            let key_id = listing
                .lines()
                .find(|l| l.contains("\tci\t"))
                .and_then(|l| l.split('\t').next())
                .unwrap()
                .to_string();
            run(steward().args(["--database-url", &url, "apikey", "revoke", &key_id]));
            let out = run(steward().args(["--database-url", &url, "apikey", "list"]));
            assert!(String::from_utf8_lossy(&out.stdout).contains("revoked"));

            // Bad input is refused with a message, not a panic.
            let out = steward()
                .args([
                    "--database-url",
                    &url,
                    "apikey",
                    "create",
                    "--enterprise",
                    &uuid::Uuid::new_v4().to_string(),
                ])
                .output()
                .unwrap();
            assert!(!out.status.success());
            assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
            let out = steward()
                .args(["--database-url", &url, "enterprise", "create", "--name", ""])
                .output()
                .unwrap();
            assert!(!out.status.success());
            run(steward().args(["--database-url", &url, "migrate"]));
        })
        .await;
        assert!(result.is_ok(), "{label}: {result:?}");
    }
}

#[test]
fn first_start_creates_an_enterprise_and_prints_a_working_key_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = steward()
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Guard(Some(child));
    let mut key = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let trimmed = line.trim();
        if trimmed.starts_with("stw_") {
            key = Some(trimmed.to_string());
        }
        if line.contains("curl") {
            break;
        }
    }
    let key = key.expect("the admin key is printed");
    wait_healthy(&base);
    let (status, body) = get(&format!("{base}/api/v1/token-info/"), Some(&key));
    assert_eq!(status, 200, "{body}");
    assert!(
        dir.path().join("steward.db").exists(),
        "SQLite under the data folder by default"
    );
    let status = terminate(child);
    assert!(status.success(), "graceful exit: {status:?}");

    // A second start finds the enterprise and prints no new key.
    let out = steward()
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "enterprise",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn settings_come_from_flags_then_environment_then_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file_port = free_port();
    let env_port = free_port();
    let config = dir.path().join("steward.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\nlisten = \"127.0.0.1:{file_port}\"\npublic_url = \"https://fleet.example.com\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    // The file alone.
    let child = steward()
        .args(["--config", config.to_str().unwrap(), "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Guard(Some(child));
    wait_healthy(&format!("http://127.0.0.1:{file_port}"));
    assert!(dir.path().join("data/steward.db").exists());
    assert!(terminate(child).success());
    // The environment beats the file.
    let child = steward()
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("STEWARD_LISTEN", format!("127.0.0.1:{env_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Guard(Some(child));
    wait_healthy(&format!("http://127.0.0.1:{env_port}"));
    assert!(terminate(child).success());

    // A bad file or bad flag is an error that says what is wrong.
    std::fs::write(&config, "listen = 5\n").unwrap();
    let out = steward()
        .args(["--config", config.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad settings file"));
    let out = steward()
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--public-url",
            "not a url",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("public-url"));
}

/// `steward serve` with a blob setting, its stderr if it stopped within 20 s.
fn serve_fails(dir: &std::path::Path, args: &[&str]) -> String {
    let out = steward()
        .args(["--data-dir", dir.to_str().unwrap(), "serve", "--listen"])
        .arg(format!("127.0.0.1:{}", free_port()))
        .args(args)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} started");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn blob_storage_in_s3_is_set_up_from_the_standard_environment_and_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    // Bad settings: an error that names the setting.
    let bad: [(&[&str], &str); 3] = [
        (&["--blob-storage", "gopher://x"], "--blob-storage"),
        (
            &["--blob-endpoint", "http://127.0.0.1:9"],
            "--blob-endpoint",
        ),
        (
            &["--blob-storage", "s3://b", "--blob-endpoint", "not a url"],
            "--blob-endpoint",
        ),
    ];
    for (args, named) in bad {
        let err = serve_fails(&path, args);
        assert!(err.contains(named), "{args:?}: {err}");
    }

    let Some(s3) = steward_server::testing::s3() else {
        return;
    };
    let aws_env = [
        ("AWS_ENDPOINT_URL", s3.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "steward-test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "steward-test".to_string()),
        ("AWS_REGION", "eu-central-1".to_string()),
    ];
    let location = s3.location();
    tokio::task::spawn_blocking(move || {
        // A bucket that does not exist stops the start before any database is made.
        let mut cmd = steward();
        cmd.envs(aws_env.clone());
        let out = cmd
            .args(["--data-dir", path.to_str().unwrap(), "serve"])
            .args(["--blob-storage", "s3://no-such-bucket-here"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no-such-bucket-here") && err.contains("does not work"),
            "{err}"
        );
        assert!(!path.join("steward.db").exists());

        // The bucket from STEWARD_BLOB_STORAGE, the rest from AWS_* alone.
        let port = free_port();
        let mut cmd = steward();
        cmd.envs(aws_env)
            .env("STEWARD_BLOB_STORAGE", &location)
            .args(["--data-dir", path.to_str().unwrap(), "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = Guard(Some(cmd.spawn().unwrap()));
        wait_healthy(&format!("http://127.0.0.1:{port}"));
        assert!(terminate(child).success());
    })
    .await
    .unwrap();
    assert!(s3.keys().await.is_empty(), "the start-up check cleans up");
}

#[test]
fn upload_settings_that_cannot_work_stop_the_server_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let err = serve_fails(dir.path(), &["--upload-dir", missing.to_str().unwrap()]);
    assert!(
        err.contains("--upload-dir") && err.contains("is not a folder"),
        "{err}"
    );
    let err = serve_fails(dir.path(), &["--max-inspections", "0"]);
    assert!(
        err.contains("--max-inspections must be at least 1"),
        "{err}"
    );
}
