//! The commands: serving, and admin work directly on the database.

use anyhow::Context;
use clap::Subcommand;
use steward_server::AppState;
use steward_store::Store;
use uuid::Uuid;

use crate::settings::Resolved;

#[derive(Subcommand)]
pub enum EnterpriseCommand {
    /// Create an enterprise; prints its id alone on the last line.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List enterprises.
    List,
}

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key; prints the key (shown only this once) alone on the last line.
    Create {
        #[arg(long)]
        enterprise: Uuid,
        #[arg(long, default_value = "api")]
        name: String,
        /// Days until the key expires; without it, it never does.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List API keys (never their secrets).
    List {
        #[arg(long)]
        enterprise: Option<Uuid>,
    },
    /// Revoke an API key by its id.
    Revoke { id: Uuid },
}

#[derive(Subcommand)]
pub enum EnrollTokenCommand {
    /// Create an enrolment token; prints the token (shown only this once) alone on the last line.
    Create {
        #[arg(long)]
        enterprise: Uuid,
        #[arg(long, default_value = "enrollment")]
        name: String,
        /// Devices enrolled with it join this group.
        #[arg(long)]
        group: Option<Uuid>,
        /// How many devices may enrol with it.
        #[arg(long)]
        max_uses: Option<i64>,
        /// Hours until it expires.
        #[arg(long)]
        expires_in_hours: Option<i64>,
    },
    /// List enrolment tokens (never their secrets).
    List {
        #[arg(long)]
        enterprise: Option<Uuid>,
    },
    /// Revoke an enrolment token by its id; devices already enrolled stay.
    Revoke { id: Uuid },
}

/// Opens and migrates the database.
pub async fn open(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url)
        .await
        .with_context(|| format!("cannot open database {}", redact(url)))?;
    store.migrate().await.context("cannot migrate database")?;
    Ok(store)
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn validate_name(name: &str) -> anyhow::Result<()> {
    let mut errors = steward_core::FieldErrors::new();
    errors.required_text("name", Some(name), 255);
    errors.finish().map_err(|e| anyhow::anyhow!("{e}"))
}

pub async fn enterprise(url: &str, cmd: EnterpriseCommand) -> anyhow::Result<()> {
    let store = open(url).await?;
    match cmd {
        EnterpriseCommand::Create { name } => {
            validate_name(&name)?;
            let e = store.create_enterprise(&name).await?;
            println!(
                "Created enterprise {:?} (short code {}).",
                e.name, e.short_code
            );
            println!("{}", e.id);
        }
        EnterpriseCommand::List => {
            for e in store.enterprises().await? {
                println!("{}\t{}\t{}", e.id, e.short_code, e.name);
            }
        }
    }
    store.close().await;
    Ok(())
}

pub async fn apikey(url: &str, cmd: ApiKeyCommand) -> anyhow::Result<()> {
    let store = open(url).await?;
    match cmd {
        ApiKeyCommand::Create {
            enterprise,
            name,
            expires_in_days,
        } => {
            validate_name(&name)?;
            let expires =
                expires_in_days.map(|d| steward_store::now() + time::Duration::days(i64::from(d)));
            let new = store
                .create_api_key(enterprise, &name, expires)
                .await
                .with_context(|| format!("cannot create a key for enterprise {enterprise}"))?;
            println!(
                "Created API key {} ({:?}) for enterprise {}. It is shown only this once:",
                new.key.uuid, new.key.name, enterprise
            );
            println!("{}", new.secret);
        }
        ApiKeyCommand::List { enterprise } => {
            println!("id\tenterprise\tname\tprefix\tcreated\tstate");
            for k in store.api_keys(enterprise).await? {
                let state = if k.revoked_on.is_some() {
                    "revoked"
                } else if !k.is_usable(steward_store::now()) {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}…\t{}\t{}",
                    k.uuid, k.enterprise_id, k.name, k.prefix, k.created_on, state
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            if store.revoke_api_key(id).await? {
                println!("Revoked API key {id}.");
            } else {
                println!("API key {id} was already revoked.");
            }
        }
    }
    store.close().await;
    Ok(())
}

pub async fn enroll_token(url: &str, cmd: EnrollTokenCommand) -> anyhow::Result<()> {
    let store = open(url).await?;
    match cmd {
        EnrollTokenCommand::Create {
            enterprise,
            name,
            group,
            max_uses,
            expires_in_hours,
        } => {
            validate_name(&name)?;
            anyhow::ensure!(
                expires_in_hours.is_none_or(|h| h >= 1),
                "--expires-in-hours must be at least 1"
            );
            let (token, secret) = store
                .create_enrollment_token(
                    enterprise,
                    steward_store::enrollment::NewEnrollmentToken {
                        name,
                        group_id: group,
                        max_uses,
                        expires_on: expires_in_hours
                            .map(|h| steward_store::now() + time::Duration::hours(h)),
                    },
                )
                .await
                .with_context(|| {
                    format!("cannot create an enrolment token for enterprise {enterprise}")
                })?;
            println!(
                "Created enrolment token {} ({:?}). Enrol a device with: steward-agent enroll --server URL --token TOKEN",
                token.id, token.name
            );
            println!("{secret}");
        }
        EnrollTokenCommand::List { enterprise } => {
            println!("id\tenterprise\tname\tgroup\tuses\tmax_uses\texpires\tstate");
            for t in store.enrollment_tokens(enterprise).await? {
                let state = t.unusable_because(steward_store::now()).unwrap_or("usable");
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.enterprise_id,
                    t.name,
                    t.group_id
                        .map(|g| g.to_string())
                        .unwrap_or_else(|| "-".into()),
                    t.uses,
                    t.max_uses
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| "-".into()),
                    t.expires_on
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "never".into()),
                    state
                );
            }
        }
        EnrollTokenCommand::Revoke { id } => {
            store.revoke_enrollment_token(None, id).await?;
            println!("Revoked enrolment token {id}.");
        }
    }
    store.close().await;
    Ok(())
}

/// Creates a first enterprise and admin key when the database has none, and says how to use it.
async fn bootstrap(store: &Store, resolved: &Resolved) -> anyhow::Result<()> {
    if store.count_enterprises().await? > 0 {
        return Ok(());
    }
    let e = store
        .create_enterprise(&resolved.bootstrap_enterprise)
        .await?;
    let key = store.create_api_key(e.id, "admin", None).await?;
    let base = resolved.server.public_url.clone().unwrap_or_else(|| {
        let scheme = if resolved.server.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", resolved.server.listen)
    });
    println!(
        "First start: created enterprise {:?} ({}) and an admin API key, shown only this once:\n\n    {}\n",
        e.name, e.id, key.secret
    );
    println!(
        "Use it as a bearer token, e.g.:\n    curl -H 'Authorization: Bearer {}' {}/api/v1/token-info/\n",
        key.secret, base
    );
    Ok(())
}

pub async fn serve(resolved: Resolved) -> anyhow::Result<()> {
    // Blob storage first: a wrong bucket or credential stops the start before anything is made.
    let location = &resolved.blob_storage.location;
    let blobs = steward_server::Blobs::open(&resolved.blob_storage)
        .with_context(|| format!("cannot open blob storage {location}"))?;
    blobs.check().await.with_context(|| {
        format!("blob storage {location} does not work; check --blob-storage and the S3 settings")
    })?;
    let store = open(&resolved.database_url).await?;
    bootstrap(&store, &resolved).await?;
    let listener = std::net::TcpListener::bind(resolved.server.listen)
        .with_context(|| format!("cannot listen on {}", resolved.server.listen))?;
    let scheme = if resolved.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(
        address = %listener.local_addr()?,
        database = %redact(&resolved.database_url),
        "steward listening on {scheme}://{}",
        listener.local_addr()?
    );
    let state = AppState::new(store.clone(), resolved.server, blobs);
    steward_server::serve(listener, state, shutdown_signal()).await?;
    // Writes still queued after the grace period are given up rather than waited for.
    if tokio::time::timeout(std::time::Duration::from_secs(5), store.close())
        .await
        .is_err()
    {
        tracing::warn!("database writes still queued at exit were dropped");
    }
    tracing::info!("steward stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
