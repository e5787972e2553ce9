//! The agent's link against a hostile stand-in server: garbage instead of a welcome, bad and
//! unknown frames after it, dropped connections. The agent keeps going and reconnects.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use steward_agent::backoff::Backoff;
use steward_agent::commands::simulated::SimulatedExecutor;
use steward_agent::commands::{CommandRunner, Journal};
use steward_agent::link::{LinkConfig, LinkEvent, run_link};
use steward_agent::platform::simulated::SimulatedPlatform;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn the_agent_survives_bad_frames_and_dropped_connections() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Each accepted connection records the frame types the agent sent.
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<(usize, String)>();
    tokio::spawn(async move {
        for round in 0.. {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            let seen_tx = seen_tx.clone();
            tokio::spawn(async move {
                let hello = ws.next().await.unwrap().unwrap();
                seen_tx
                    .send((round, hello.to_text().unwrap().to_string()))
                    .unwrap();
                match round {
                    // 1st connection: garbage instead of a welcome.
                    0 => {
                        ws.send(Message::Text("not json at all".into()))
                            .await
                            .unwrap();
                    }
                    // 2nd: a welcome, then frames the agent cannot or need not read, then a drop.
                    1 => {
                        let welcome = r#"{"type":"welcome","device_id":"00000000-0000-0000-0000-000000000001","heartbeat_secs":1,"telemetry_secs":60}"#;
                        ws.send(Message::Text(welcome.into())).await.unwrap();
                        for bad in [
                            "{]",
                            r#"{"type":"launch"}"#,
                            r#"{"type":"error","message":"no"}"#,
                        ] {
                            ws.send(Message::Text(bad.into())).await.unwrap();
                        }
                        ws.send(Message::Binary(vec![0, 1, 2].into()))
                            .await
                            .unwrap();
                        let mut frames = 0;
                        while let Some(Ok(m)) = ws.next().await {
                            if let Ok(text) = m.to_text() {
                                seen_tx.send((round, text.to_string())).unwrap();
                            }
                            frames += 1;
                            // inventory, apps, telemetry, then at least one heartbeat
                            if frames >= 4 {
                                break;
                            }
                        }
                        // Drop the connection without a close frame.
                        drop(ws);
                    }
                    // 3rd: a proper session that is kept open.
                    _ => {
                        let welcome = r#"{"type":"welcome","device_id":"00000000-0000-0000-0000-000000000001","heartbeat_secs":60,"telemetry_secs":60}"#;
                        ws.send(Message::Text(welcome.into())).await.unwrap();
                        while let Some(Ok(_)) = ws.next().await {}
                    }
                }
            });
        }
    });

    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let mut config = LinkConfig::new(
        format!("http://127.0.0.1:{port}").parse().unwrap(),
        "dev_x".into(),
        CommandRunner::new(
            Arc::new(SimulatedExecutor::new(
                uuid::Uuid::nil(),
                Duration::ZERO,
                None,
            )),
            Journal::in_memory(),
        ),
    );
    config.backoff = Backoff::new(
        Duration::from_millis(50),
        Duration::from_millis(200),
        Duration::from_millis(100),
    );
    config.observer = Some(events_tx);
    let stop = CancellationToken::new();
    let link = tokio::spawn(run_link(
        config,
        Arc::new(SimulatedPlatform::new(7)),
        0,
        stop.clone(),
    ));

    let mut heartbeat_after_garbage = false;
    let mut third_hello = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(heartbeat_after_garbage && third_hello) {
        let (round, text) = tokio::time::timeout_at(deadline, seen.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(text.starts_with('{'), "the agent sends JSON frames: {text}");
        if round == 1 && text.contains("\"heartbeat\"") {
            heartbeat_after_garbage = true;
        }
        if round == 2 && text.contains("\"hello\"") {
            third_hello = true;
        }
    }
    let mut connected = 0;
    while connected < 2 {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(LinkEvent::Connected(..))) => connected += 1,
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    assert!(
        connected >= 2,
        "connected after the garbage and after the drop: {connected}"
    );
    stop.cancel();
    assert!(link.await.unwrap().is_ok());
}
