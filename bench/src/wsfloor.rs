//! The fan-out floor: a bare WebSocket server (tokio-tungstenite, no database, no protocol)
//! that broadcasts one frame of the command frame's size to every client and counts their
//! replies (one frame of the same size each). It runs as its own process, like `steward
//! serve`; a control socket on `/control` asks for a broadcast (`fanout`) or a frame to one
//! client (`one`) and is answered `done` when every reply is in.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Mutex, Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Shared {
    clients: Mutex<Vec<mpsc::UnboundedSender<Message>>>,
    replies: AtomicUsize,
    target: AtomicUsize,
    done: Notify,
}

/// The floor server: runs until killed.
pub async fn serve(listen: SocketAddr, frame_bytes: usize) -> Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let shared = Arc::new(Shared::default());
    let frame: Utf8Bytes = "x".repeat(frame_bytes).into();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let (shared, frame) = (shared.clone(), frame.clone());
                tokio::spawn(async move {
                    let _ = connection(stream, shared, frame).await;
                });
            }
            // Out of descriptors for a moment: wait rather than spin.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

// The handshake callback's error type is tungstenite's own (a whole HTTP response).
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, shared: Arc<Shared>, frame: Utf8Bytes) -> Result<()> {
    let mut control = false;
    let socket = tokio_tungstenite::accept_hdr_async(stream, |req: &Request, resp: Response| {
        control = req.uri().path() == "/control";
        Ok::<_, ErrorResponse>(resp)
    })
    .await?;
    let (mut sink, mut stream) = socket.split();
    if control {
        while let Some(Ok(Message::Text(order))) = stream.next().await {
            let targets: Vec<_> = {
                let clients = shared.clients.lock().await;
                match order.as_str() {
                    "one" => clients.iter().take(1).cloned().collect(),
                    _ => clients.clone(),
                }
            };
            shared.replies.store(0, Ordering::SeqCst);
            shared.target.store(targets.len(), Ordering::SeqCst);
            for client in &targets {
                let _ = client.send(Message::Text(frame.clone()));
            }
            if !targets.is_empty() {
                tokio::time::timeout(Duration::from_secs(600), shared.done.notified()).await?;
            }
            sink.send(Message::Text(format!("done {}", targets.len()).into()))
                .await?;
        }
        return Ok(());
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    shared.clients.lock().await.push(tx);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(m) => sink.send(m).await?,
                None => return Ok(()),
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(_))) => {
                    let n = shared.replies.fetch_add(1, Ordering::SeqCst) + 1;
                    if n == shared.target.load(Ordering::SeqCst) {
                        shared.done.notify_one();
                    }
                }
                Some(Ok(_)) => {}
                _ => return Ok(()),
            },
        }
    }
}

/// Opens `n` clients (spread over `source_ips`) that answer every frame with one of the same
/// size; returns once all are connected, with the time that took.
pub async fn connect_clients(
    port: u16,
    n: usize,
    source_ips: &[IpAddr],
    stop: &CancellationToken,
    limit: Duration,
) -> Result<Duration> {
    let (tx, mut connected) = mpsc::unbounded_channel::<()>();
    let began = Instant::now();
    let server: SocketAddr = ([127, 0, 0, 1], port).into();
    for i in 0..n {
        let source = source_ips.get(i % source_ips.len().max(1)).copied();
        let (stop, tx) = (stop.clone(), tx.clone());
        tokio::spawn(async move {
            loop {
                let attempt = async {
                    let socket = TcpSocket::new_v4()?;
                    if let Some(ip) = source {
                        socket.bind(SocketAddr::new(ip, 0))?;
                    }
                    let stream = socket.connect(server).await?;
                    let (ws, _) =
                        tokio_tungstenite::client_async(format!("ws://{server}/"), stream).await?;
                    anyhow::Ok(ws)
                };
                let ws = tokio::select! {
                    () = stop.cancelled() => return,
                    r = tokio::time::timeout(Duration::from_secs(20), attempt) => r,
                };
                let Ok(Ok(mut ws)) = ws else {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                };
                let _ = tx.send(());
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        m = ws.next() => match m {
                            Some(Ok(Message::Text(t))) => {
                                if ws.send(Message::Text(t)).await.is_err() {
                                    return;
                                }
                            }
                            Some(Ok(_)) => {}
                            _ => return,
                        },
                    }
                }
            }
        });
    }
    let deadline = tokio::time::Instant::now() + limit;
    for count in 0..n {
        if !matches!(
            tokio::time::timeout_at(deadline, connected.recv()).await,
            Ok(Some(()))
        ) {
            bail!("only {count} of {n} WebSocket clients connected within {limit:?}");
        }
    }
    Ok(began.elapsed())
}

/// The control socket of a floor server.
pub struct Control(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
);

impl Control {
    pub async fn open(port: u16) -> Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/control"))
            .await
            .context("cannot open the floor's control socket")?;
        Ok(Self(ws))
    }

    /// Sends `order` (`fanout` or `one`); the time until every reply was in, and how many
    /// clients it reached.
    pub async fn run(&mut self, order: &str) -> Result<(Duration, usize)> {
        let began = Instant::now();
        self.0.send(Message::Text(order.to_string().into())).await?;
        let answer = tokio::time::timeout(Duration::from_secs(600), self.0.next())
            .await
            .context("the floor did not answer")?;
        let elapsed = began.elapsed();
        match answer {
            Some(Ok(Message::Text(t))) => {
                let reached = t
                    .strip_prefix("done ")
                    .and_then(|n| n.parse().ok())
                    .context("bad answer")?;
                Ok((elapsed, reached))
            }
            other => bail!("unexpected answer from the floor: {other:?}"),
        }
    }
}
