//! Putting the server together and running it.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{self as http, HeaderName, StatusCode};
use tower::util::{MapRequest, MapRequestLayer};
use tower::{Layer, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::http::middleware::{self, normalize_path};
use crate::routes;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application: trailing-slash normalisation in front of the router (it must
/// run before routing, so it wraps the router rather than being one of its layers).
/// The application service: the router behind the path normalisation.
pub type App<B> = MapRequest<Router, Normalize<B>>;
type Normalize<B> = fn(http::Request<B>) -> http::Request<B>;

pub fn app<B>(state: AppState) -> App<B> {
    let normalize: Normalize<B> = normalize_path;
    MapRequestLayer::new(normalize).layer(router(state))
}

fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let api = routes::api_router(state.clone());
    Router::new()
        .merge(routes::system::router())
        .merge(routes::files::router())
        .merge(routes::agent_files::router())
        .merge(crate::gateway::router())
        .nest("/api", api)
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &Request| {
                        let id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(middleware::panic_response))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    settings.request_timeout,
                ))
                .layer(DefaultBodyLimit::max(settings.max_body_bytes))
                .layer(axum::middleware::from_fn(middleware::track_metrics)),
        )
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then lets open requests finish (up to
/// ten seconds). HTTPS when the settings name a certificate and key.
pub async fn serve(
    listener: std::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    listener.set_nonblocking(true)?;
    let tls = state.settings.tls.clone();
    let handle = axum_server::Handle::new();
    let graceful = handle.clone();
    let background = tokio_util::sync::CancellationToken::new();
    let presence = tokio::spawn(crate::gateway::run_presence(
        state.clone(),
        background.clone(),
    ));
    let stop_writer = tokio_util::sync::CancellationToken::new();
    let receiver = state
        .report_receiver
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .ok_or_else(|| anyhow::anyhow!("this server state is already being served"))?;
    let writer = tokio::spawn(crate::gateway::writer::run_writer(
        state.store.clone(),
        receiver,
        stop_writer.clone(),
    ));
    let dispatch_receiver = state
        .dispatch_receiver
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .ok_or_else(|| anyhow::anyhow!("this server state is already being served"))?;
    let dispatcher = tokio::spawn(crate::gateway::dispatch::run_dispatcher(
        state.clone(),
        dispatch_receiver,
        background.clone(),
    ));
    let listener_task = tokio::spawn(crate::gateway::dispatch::run_listener(
        state.clone(),
        background.clone(),
    ));
    let sweeper = tokio::spawn(crate::gateway::dispatch::run_sweeper(
        state.clone(),
        background.clone(),
    ));
    let stop_background = background.clone();
    let closing = state.clone();
    tokio::spawn(async move {
        shutdown.await;
        stop_background.cancel();
        // Stop accepting first, so closed devices do not come straight back to this node;
        // then close their sockets. Their last-seen times are at most one presence interval
        // old, which the silence before INACTIVE allows for.
        graceful.graceful_shutdown(Some(Duration::from_secs(10)));
        closing.registry.disconnect_all();
    });
    let sessions = state.sessions.clone();
    let upkeep = tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Some(handle) = middleware::prometheus() {
                handle.run_upkeep();
            }
        }
    });
    let service = tower::make::Shared::new(app(state));
    let served = match tls {
        Some(files) => {
            let config =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "cannot load TLS certificate {} / key {}: {e}",
                            files.cert.display(),
                            files.key.display()
                        )
                    })?;
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(service)
                .await
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(service)
                .await
        }
    };
    upkeep.abort();
    background.cancel();
    let _ = presence.await;
    let _ = dispatcher.await;
    let _ = listener_task.await;
    let _ = sweeper.await;
    sessions.close();
    if tokio::time::timeout(Duration::from_secs(10), sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!("device sessions still open at shutdown");
    }
    // The sessions are done: write what they queued, then stop.
    stop_writer.cancel();
    if tokio::time::timeout(Duration::from_secs(30), writer)
        .await
        .is_err()
    {
        tracing::warn!("device reports still unwritten at shutdown");
    }
    Ok(served?)
}
