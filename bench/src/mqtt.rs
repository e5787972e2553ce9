//! The connection floor: our own Mosquitto process holding the same number of idle MQTT
//! connections (keep-alive as long as Steward's heartbeat), opened by the same load generator.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions};
use tokio_util::sync::CancellationToken;

use crate::util::{Guarded, free_port, wait_port};

/// Connections per listening port: below the ~28,000 ephemeral ports of one address pair.
const PER_PORT: usize = 20_000;

pub struct Broker {
    pub process: Guarded,
    pub ports: Vec<u16>,
}

/// Starts `mosquitto` with enough listeners for `connections`, no persistence, no limits.
pub async fn start_broker(bin: &Path, work: &Path, connections: usize) -> Result<Broker> {
    let listeners = connections.div_ceil(PER_PORT).max(1);
    let ports = (0..listeners)
        .map(|_| free_port())
        .collect::<Result<Vec<_>>>()?;
    let mut conf = String::from(
        "per_listener_settings false\nallow_anonymous true\npersistence false\n\
         max_connections -1\nlog_dest stderr\nlog_type error\nlog_type warning\n",
    );
    for port in &ports {
        conf.push_str(&format!("listener {port} 127.0.0.1\n"));
    }
    let conf_file = work.join("mosquitto.conf");
    std::fs::write(&conf_file, conf)?;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("-c").arg(&conf_file);
    let process = Guarded::spawn(cmd, &work.join("mosquitto.log"))?;
    for port in &ports {
        wait_port(*port, Duration::from_secs(20)).await?;
    }
    Ok(Broker { process, ports })
}

/// `n` MQTT clients, each on its own task, connected until `stop`.
pub struct Clients {
    pub stop: CancellationToken,
    pub connect_time: Duration,
}

/// Opens `n` clients at once (as the simulated devices do) and waits until every one has its
/// CONNACK.
pub async fn connect_all(
    ports: &[u16],
    n: usize,
    keep_alive: Duration,
    limit: Duration,
) -> Result<Clients> {
    let stop = CancellationToken::new();
    let (tx, mut connected) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let began = Instant::now();
    for i in 0..n {
        let port = ports[i % ports.len()];
        let mut options = MqttOptions::new(format!("bench-{i}"), "127.0.0.1", port);
        options.set_keep_alive(keep_alive);
        let (client, mut eventloop) = AsyncClient::new(options, 10);
        eventloop.network_options.set_connection_timeout(20);
        let (stop, tx) = (stop.clone(), tx.clone());
        tokio::spawn(async move {
            let _client = client; // the event loop ends when its client is dropped
            let mut told = false;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    event = eventloop.poll() => match event {
                        Ok(Event::Incoming(Incoming::ConnAck(_))) if !told => {
                            told = true;
                            let _ = tx.send(i);
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                    },
                }
            }
        });
    }
    let deadline = tokio::time::Instant::now() + limit;
    let mut count = 0;
    while count < n {
        match tokio::time::timeout_at(deadline, connected.recv()).await {
            Ok(Some(_)) => count += 1,
            _ => {
                stop.cancel();
                bail!("only {count} of {n} MQTT clients connected within {limit:?}");
            }
        }
    }
    Ok(Clients {
        stop,
        connect_time: began.elapsed(),
    })
}

/// Closes every client and gives their sockets a moment to go.
pub async fn disconnect(clients: Clients) {
    clients.stop.cancel();
    tokio::time::sleep(Duration::from_secs(2)).await;
}
