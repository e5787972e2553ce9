//! `steward`: the server (`steward serve`) and the admin commands that work on its database.

mod admin;
mod settings;

use clap::{Parser, Subcommand};

use settings::{GlobalArgs, ServeArgs};

/// mimalloc instead of the system allocator: the server allocates many small, short-lived
/// buffers across threads (frames, rows, JSON), where glibc's malloc spent a fifth of a
/// fan-out's CPU time (see docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "steward",
    version,
    about = "Self-hosted, Esper-compatible fleet manager"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API, device gateway, schedulers).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage enterprises (tenants).
    #[command(subcommand)]
    Enterprise(admin::EnterpriseCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(admin::ApiKeyCommand),
    /// Manage enrolment tokens (what devices enrol with).
    #[command(subcommand)]
    EnrollToken(admin::EnrollTokenCommand),
    /// Print docs/COMPATIBILITY.md, generated from the router.
    CompatTable,
    /// Print the OpenAPI document.
    Openapi,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = settings::FileSettings::load(cli.global.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => {
            let settings = settings::resolve_serve(&cli.global, &args, &file)?;
            admin::serve(settings).await
        }
        Command::Migrate => {
            settings::init_logging("warn", false);
            let store = admin::open(&settings::resolve_database(&cli.global, &file)?).await?;
            println!("migrations applied");
            store.close().await;
            Ok(())
        }
        Command::Enterprise(cmd) => {
            settings::init_logging("warn", false);
            admin::enterprise(&settings::resolve_database(&cli.global, &file)?, cmd).await
        }
        Command::Apikey(cmd) => {
            settings::init_logging("warn", false);
            admin::apikey(&settings::resolve_database(&cli.global, &file)?, cmd).await
        }
        Command::EnrollToken(cmd) => {
            settings::init_logging("warn", false);
            admin::enroll_token(&settings::resolve_database(&cli.global, &file)?, cmd).await
        }
        Command::CompatTable => {
            print!(
                "{}",
                steward_server::compat::compatibility_table(&steward_server::api_document())
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", steward_server::api_document().to_pretty_json()?);
            Ok(())
        }
    }
}
