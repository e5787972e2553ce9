//! Fetching the file of an INSTALL or PUSH_CONTENT from the server the agent is enrolled with,
//! with the device's credential and the link's TLS settings. The file is streamed under a cap
//! equal to its announced size and hashed on the way; nothing uses it before its size and
//! SHA-256 match what the command announced, and a failed fetch leaves no file behind.

use std::path::Path;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use steward_proto::agent::{FILES_PATH_PREFIX, FileDownload};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use url::Url;

use super::bounded;

/// Most of an error answer's body kept for a reason.
const ERROR_BODY: usize = 4096;
/// How the names of files being downloaded start.
const TEMP_PREFIX: &str = ".steward-download-";

/// Where a device fetches the files of its commands.
#[derive(Debug, Clone)]
pub struct FileSource {
    server: Url,
    device_token: String,
    client: reqwest::Client,
}

/// A file fetched in full whose size and SHA-256 matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub size: u64,
    pub sha256: String,
}

/// The `download` argument of a command, checked.
pub fn download_arg(args: &Map<String, Value>) -> Result<FileDownload, String> {
    let Some(value) = args.get("download") else {
        return Err("the command has no download argument (the server sends one with every INSTALL and PUSH_CONTENT; is it an old server?)".into());
    };
    let download: FileDownload = serde_json::from_value(value.clone())
        .map_err(|e| format!("the command's download argument is unreadable: {e}"))?;
    if download.sha256.len() != 64 || !download.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "the command's download argument has no SHA-256 ({:?})",
            bounded(&download.sha256, 80)
        ));
    }
    if !download.path.starts_with(FILES_PATH_PREFIX) {
        return Err(format!(
            "the command's download path {:?} is not under {FILES_PATH_PREFIX}",
            bounded(&download.path, 200)
        ));
    }
    Ok(download)
}

impl FileSource {
    /// Files from `server` (the base URL the agent is enrolled with), trusting `ca_file`
    /// instead of the system's roots when given.
    pub fn new(server: Url, device_token: String, ca_file: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self::with_client(
            server,
            device_token,
            crate::tls::download_client(ca_file)?,
        ))
    }

    /// With a client made once for many devices ([`crate::tls::download_client`]).
    pub fn with_client(server: Url, device_token: String, client: reqwest::Client) -> Self {
        Self {
            server,
            device_token,
            client,
        }
    }

    /// The URL of `path`; only ever on the enrolled server, which alone gets the credential.
    fn url(&self, path: &str) -> Result<Url, String> {
        let url = self
            .server
            .join(path)
            .map_err(|e| format!("bad download path {:?}: {e}", bounded(path, 200)))?;
        if url.origin() != self.server.origin() {
            return Err(format!(
                "the download path {:?} leads away from the server",
                bounded(path, 200)
            ));
        }
        Ok(url)
    }

    /// Streams the file into `out`, checking its size as it comes and its SHA-256 at the end,
    /// all before `deadline`. An error is the reason to report.
    pub async fn fetch_into<W: AsyncWrite + Unpin>(
        &self,
        download: &FileDownload,
        out: &mut W,
        deadline: Instant,
    ) -> Result<Verified, String> {
        match tokio::time::timeout_at(deadline, self.stream(download, out)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "the download of {} did not finish before the command's deadline",
                download.file_name
            )),
        }
    }

    async fn stream<W: AsyncWrite + Unpin>(
        &self,
        download: &FileDownload,
        out: &mut W,
    ) -> Result<Verified, String> {
        let url = self.url(&download.path)?;
        let mut response = self
            .client
            .get(url.clone())
            .bearer_auth(&self.device_token)
            .send()
            .await
            .map_err(|e| format!("cannot fetch {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "the server refused the download of {} ({status}){}",
                download.file_name,
                error_message(response).await
            ));
        }
        let expected = download.size;
        if let Some(length) = response.content_length()
            && length != expected
        {
            return Err(format!(
                "the server sends {length} bytes for {}, but the command announced {expected}; nothing was used",
                download.file_name
            ));
        }
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("the download of {} broke off: {e}", download.file_name))?
        {
            size = size.saturating_add(chunk.len() as u64);
            if size > expected {
                return Err(format!(
                    "the download of {} went on past its announced size of {expected} bytes; nothing was used",
                    download.file_name
                ));
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| format!("cannot write the download: {e}"))?;
        }
        out.flush()
            .await
            .map_err(|e| format!("cannot write the download: {e}"))?;
        if size != expected {
            return Err(format!(
                "the download of {} ended after {size} of {expected} bytes; nothing was used",
                download.file_name
            ));
        }
        let sha256 = hex::encode(hasher.finalize());
        if !sha256.eq_ignore_ascii_case(&download.sha256) {
            return Err(format!(
                "the SHA-256 of {} is {sha256}, not the announced {}; nothing was used",
                download.file_name, download.sha256
            ));
        }
        Ok(Verified { size, sha256 })
    }

    /// Fetches the file to a new private file (mode 0600) in `dir`, whose name ends in
    /// `-{suffix}`. The file is removed when the returned path is dropped, and at once when
    /// anything fails.
    pub async fn fetch_to_temp(
        &self,
        download: &FileDownload,
        dir: &Path,
        suffix: &str,
        deadline: Instant,
    ) -> Result<(tempfile::TempPath, Verified), String> {
        remove_leftovers(dir);
        let temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(&format!("-{suffix}"))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
        let (file, path) = temp.into_parts();
        let mut out = tokio::fs::File::from_std(file);
        let verified = self.fetch_into(download, &mut out, deadline).await?;
        out.sync_all()
            .await
            .map_err(|e| format!("cannot write the download: {e}"))?;
        Ok((path, verified))
    }
}

/// Removes what downloads cut short by a crash of the agent left in `dir` (one command runs at
/// a time, so no other download is under way).
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// ": <message>" from an error answer (Esper's envelope or plain text), or nothing.
async fn error_message(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY);
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
    if message.is_empty() {
        String::new()
    } else {
        format!(": {}", bounded(&message, 512))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// How the test server answers one request.
    #[derive(Clone)]
    pub(crate) struct Answer {
        pub status: u16,
        pub body: Vec<u8>,
        /// Content-Length to claim (`None`: the body's own; the connection is closed after).
        pub length: Option<Option<u64>>,
        /// Wait this long before the body.
        pub stall: Duration,
    }

    impl Answer {
        pub(crate) fn ok(body: &[u8]) -> Self {
            Self {
                status: 200,
                body: body.to_vec(),
                length: None,
                stall: Duration::ZERO,
            }
        }
    }

    /// A plain HTTP/1.1 server on 127.0.0.1 giving `answer` to every request, and the
    /// `Authorization` headers and paths it saw.
    pub(crate) async fn serve(
        answer: Answer,
    ) -> (Url, std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: Url = format!("http://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let answer = answer.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let auth = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .starts_with("authorization:")
                                .then(|| l[14..].trim().to_string())
                        })
                        .unwrap_or_default();
                    log.lock().unwrap().push((path, auth));
                    let length = match answer.length {
                        None => format!("Content-Length: {}\r\n", answer.body.len()),
                        Some(Some(n)) => format!("Content-Length: {n}\r\n"),
                        Some(None) => String::new(),
                    };
                    let head = format!(
                        "HTTP/1.1 {} X\r\n{length}Connection: close\r\n\r\n",
                        answer.status
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    tokio::time::sleep(answer.stall).await;
                    let _ = socket.write_all(&answer.body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        (url, seen)
    }

    pub(crate) fn announced(body: &[u8]) -> FileDownload {
        FileDownload {
            path: "/agent/v1/app-versions/x/file".into(),
            sha256: hex::encode(Sha256::digest(body)),
            size: body.len() as u64,
            file_name: "kiosk_1.0_all.deb".into(),
        }
    }

    fn source(url: Url) -> FileSource {
        FileSource::new(url, "dev_secret".into(), None).unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    fn left_in(dir: &Path) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    #[tokio::test]
    async fn a_verified_file_lands_in_a_private_temporary_file() {
        let body = b"package bytes".repeat(1000);
        let (url, seen) = serve(Answer::ok(&body)).await;
        let dir = tempfile::tempdir().unwrap();
        let (path, verified) = source(url)
            .fetch_to_temp(&announced(&body), dir.path(), "kiosk.deb", soon())
            .await
            .unwrap();
        assert_eq!(verified.size, body.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), body);
        assert!(path.to_string_lossy().ends_with("-kiosk.deb"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            seen.lock().unwrap()[0],
            (
                "/agent/v1/app-versions/x/file".to_string(),
                "Bearer dev_secret".to_string()
            )
        );
        drop(path);
        assert!(left_in(dir.path()).is_empty());
        // What a crash left is removed by the next download; other files stay.
        std::fs::write(dir.path().join(".steward-download-abc-x.deb"), b"half").unwrap();
        std::fs::write(dir.path().join("menu.png"), b"content").unwrap();
        let (path, _) = source(serve(Answer::ok(&body)).await.0)
            .fetch_to_temp(&announced(&body), dir.path(), "kiosk.deb", soon())
            .await
            .unwrap();
        let mut left = left_in(dir.path());
        left.sort();
        assert_eq!(left, vec![path.to_path_buf(), dir.path().join("menu.png")]);
    }

    #[tokio::test]
    async fn hostile_or_broken_downloads_fail_and_leave_nothing() {
        let body = b"the real package".to_vec();
        let mut tampered = announced(&body);
        tampered.sha256 = hex::encode(Sha256::digest(b"something else"));
        let mut longer = Answer::ok(&[body.clone(), b"and more".to_vec()].concat());
        longer.length = Some(None);
        let mut shorter = Answer::ok(&body[..5]);
        shorter.length = Some(None);
        let mut cut = Answer::ok(&body[..5]);
        cut.length = Some(Some(body.len() as u64));
        let refused = Answer {
            status: 403,
            body: br#"{"errors":[],"message":"another enterprise's file","status":403}"#.to_vec(),
            ..Answer::ok(b"")
        };
        let missing = Answer {
            status: 404,
            body: b"gone".to_vec(),
            ..Answer::ok(b"")
        };
        let cases: Vec<(Answer, FileDownload, &str)> = vec![
            (Answer::ok(&body), tampered, "not the announced"),
            (longer, announced(&body), "went on past its announced size"),
            (shorter, announced(&body), "ended after 5 of 16 bytes"),
            (cut, announced(&body), "broke off"),
            (
                Answer::ok(&body),
                FileDownload {
                    size: 3,
                    ..announced(&body)
                },
                "the server sends 16 bytes",
            ),
            (
                refused,
                announced(&body),
                "(403 Forbidden): another enterprise's file",
            ),
            (missing, announced(&body), "(404 Not Found): gone"),
        ];
        for (answer, download, expected) in cases {
            let (url, _) = serve(answer).await;
            let dir = tempfile::tempdir().unwrap();
            let err = source(url)
                .fetch_to_temp(&download, dir.path(), "x", soon())
                .await
                .unwrap_err();
            assert!(err.contains(expected), "{expected}: {err}");
            assert!(
                left_in(dir.path()).is_empty(),
                "{expected}: a file was left"
            );
        }
    }

    #[tokio::test]
    async fn a_stalled_download_ends_at_the_deadline() {
        let body = b"slow".to_vec();
        let mut answer = Answer::ok(&body);
        answer.stall = Duration::from_secs(30);
        let (url, _) = serve(answer).await;
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let err = source(url)
            .fetch_to_temp(
                &announced(&body),
                dir.path(),
                "x",
                Instant::now() + Duration::from_millis(500),
            )
            .await
            .unwrap_err();
        assert!(err.contains("deadline"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(left_in(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn the_credential_never_leaves_the_enrolled_server() {
        let (url, seen) = serve(Answer::ok(b"x")).await;
        let s = source(url);
        for path in [
            "//evil.example/agent/v1/x",
            "http://evil.example/agent/v1/x",
        ] {
            let download = FileDownload {
                path: path.into(),
                ..announced(b"x")
            };
            let err = s
                .fetch_into(&download, &mut tokio::io::sink(), soon())
                .await
                .unwrap_err();
            assert!(err.contains("leads away from the server"), "{err}");
        }
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn the_download_argument_is_checked() {
        let good = serde_json::json!({"download": announced(b"x")});
        assert!(download_arg(good.as_object().unwrap()).is_ok());
        let cases = [
            (serde_json::json!({}), "no download argument"),
            (serde_json::json!({"download": "x"}), "unreadable"),
            (
                serde_json::json!({"download": {"path": "/agent/v1/x", "sha256": "zz", "size": 1, "file_name": "f"}}),
                "no SHA-256",
            ),
            (
                serde_json::json!({"download": {"path": "/etc/passwd", "sha256": "a".repeat(64), "size": 1, "file_name": "f"}}),
                "not under /agent/v1/",
            ),
            (
                serde_json::json!({"download": {"path": "/agent/v1/x", "sha256": "a".repeat(64), "size": -1, "file_name": "f"}}),
                "unreadable",
            ),
        ];
        for (args, expected) in cases {
            let err = download_arg(args.as_object().unwrap()).unwrap_err();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }
}
