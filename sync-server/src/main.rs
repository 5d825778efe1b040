//! `sync-server`: serve, migrate, and the operator's account commands.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use crm_sync_server::auth::{self, Role};
use crm_sync_server::{admin, db, serve, AppState, Limits};
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "sync-server", version, about = "CRM sync server")]
struct Cli {
    /// PostgreSQL URL. `serve` must use the plain application role
    /// (crm_app); `migrate` and the account commands use the owning role.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the sync API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "SYNC_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Connections in the pool (default: four per core, 4 to 32).
        #[arg(long, env = "SYNC_DB_CONNECTIONS", default_value_t = db::default_connections())]
        connections: u32,
        /// Largest request body, bytes.
        #[arg(long, env = "SYNC_MAX_BODY", default_value_t = 8 * 1024 * 1024)]
        max_body: usize,
        /// Failed logins allowed per email within the window.
        #[arg(long, env = "SYNC_LOGIN_FAILURES_PER_EMAIL", default_value_t = auth::MAX_FAILURES)]
        login_failures_per_email: i64,
        /// Failed logins allowed per client address (IPv6: per /64) within
        /// the window, across all emails.
        #[arg(long, env = "SYNC_LOGIN_FAILURES_PER_ADDRESS", default_value_t = auth::MAX_FAILURES_PER_ADDRESS)]
        login_failures_per_address: i64,
        /// How long a failed login counts, seconds.
        #[arg(long, env = "SYNC_LOGIN_WINDOW_SECS", default_value_t = auth::FAILURE_WINDOW_SECS as u64)]
        login_window_secs: u64,
        /// Reverse proxies in front of this server that append the client's
        /// address to X-Forwarded-For. 0: the header is ignored (set this only
        /// when every request passes through that many proxies of yours).
        #[arg(long, env = "SYNC_TRUSTED_PROXIES", default_value_t = 0)]
        trusted_proxies: usize,
        /// Password checks running at once (Argon2, 19 MiB each; default:
        /// one per core). A login beyond them is answered 503 at once.
        #[arg(long, env = "SYNC_PASSWORD_CHECKS", default_value_t = auth::default_password_checks())]
        password_checks: usize,
        /// Seconds a connection may take to send a request's head (and may
        /// stay idle between requests).
        #[arg(long, env = "SYNC_HEADER_TIMEOUT_SECS", default_value_t = 10)]
        header_timeout_secs: u64,
        /// Seconds a request's body may take to arrive, in total.
        #[arg(long, env = "SYNC_BODY_TIMEOUT_SECS", default_value_t = 30)]
        body_timeout_secs: u64,
        /// Connections served at once; keep it well below the open-file
        /// limit (`ulimit -n`) less the database connections. 16 more are
        /// served for /health only; beyond those new connections are
        /// closed at once.
        #[arg(long, env = "SYNC_MAX_CONNECTIONS", default_value_t = 512)]
        max_connections: usize,
    },
    /// Apply pending schema migrations (as the owning role).
    Migrate,
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        cmd: TenantCmd,
    },
    /// Users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Devices.
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant; prints its id.
    Create {
        /// The agency's name.
        name: String,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user; the password comes from SYNC_USER_PASSWORD or a prompt.
    Add {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
        /// Login email.
        #[arg(long)]
        email: String,
        /// agent or admin.
        #[arg(long, value_parser = ["agent", "admin"])]
        role: String,
        /// Team: agents of one team see each other's contacts.
        #[arg(long)]
        team: Option<String>,
    },
    /// Move a user to another team, or out of any. Their devices, and their
    /// old and new team mates', drop what they no longer see and pull what
    /// they now see at their next sync.
    SetTeam {
        /// The user's login email.
        email: String,
        /// The new team.
        #[arg(long, required_unless_present = "no_team", conflicts_with = "no_team")]
        team: Option<String>,
        /// No team: the user sees only their own contacts (an agent).
        #[arg(long)]
        no_team: bool,
    },
    /// Make a user an agent or an admin. A new admin's devices pull the
    /// whole tenant; a former admin's drop what an agent does not see.
    SetRole {
        /// The user's login email.
        email: String,
        /// agent or admin.
        #[arg(long, value_parser = ["agent", "admin"])]
        role: String,
    },
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// Revoke a device: its token stops working at its next request.
    Revoke {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
        /// Device id.
        device: Uuid,
    },
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() {
    init_logs();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let Some(url) = cli.database_url else {
        bail!("no database: set DATABASE_URL or pass --database-url");
    };
    match cli.cmd {
        Cmd::Serve {
            listen,
            connections,
            max_body,
            login_failures_per_email,
            login_failures_per_address,
            login_window_secs,
            trusted_proxies,
            password_checks,
            header_timeout_secs,
            body_timeout_secs,
            max_connections,
        } => {
            if login_window_secs == 0 {
                bail!("--login-window-secs must be at least 1");
            }
            if password_checks == 0 || max_connections == 0 {
                bail!("--password-checks and --max-connections must be at least 1");
            }
            if header_timeout_secs == 0 || body_timeout_secs == 0 {
                bail!("--header-timeout-secs and --body-timeout-secs must be at least 1");
            }
            let pool = db::connect(&url, connections)
                .await
                .context("connecting to PostgreSQL")?;
            db::check_serving_role(&pool).await?;
            let state = AppState::new(
                pool,
                Limits {
                    max_body,
                    login_failures_per_email,
                    login_failures_per_address,
                    login_window: Duration::from_secs(login_window_secs),
                    trusted_proxies,
                    password_checks,
                    header_timeout: Duration::from_secs(header_timeout_secs),
                    body_timeout: Duration::from_secs(body_timeout_secs),
                    max_connections,
                    ..Limits::default()
                },
            );
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            tracing::info!(addr = %listener.local_addr()?, "serving");
            serve::serve(listener, state, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        Cmd::Migrate => {
            let pool = db::connect(&url, 2)
                .await
                .context("connecting to PostgreSQL")?;
            db::migrate(&pool).await.context("migrating")?;
            println!("migrations applied");
        }
        Cmd::Tenant {
            cmd: TenantCmd::Create { name },
        } => {
            let pool = db::connect(&url, 2).await?;
            println!("{}", admin::create_tenant(&pool, &name).await?);
        }
        Cmd::User {
            cmd:
                UserCmd::Add {
                    tenant,
                    email,
                    role,
                    team,
                },
        } => {
            let password = match std::env::var("SYNC_USER_PASSWORD") {
                Ok(p) => p,
                Err(_) => rpassword::prompt_password(format!("password for {email}: "))
                    .context("reading the password")?,
            };
            let role = Role::parse(&role).context("role must be agent or admin")?;
            let pool = db::connect(&url, 2).await?;
            let id =
                admin::add_user(&pool, tenant, &email, &password, role, team.as_deref()).await?;
            println!("{id}");
        }
        Cmd::User {
            cmd:
                UserCmd::SetTeam {
                    email,
                    team,
                    no_team: _,
                },
        } => {
            let pool = db::connect(&url, 2).await?;
            let change = admin::set_team(&pool, &email, team.as_deref()).await?;
            println!(
                "{email}: team {}; {} evictions, {} rows to send again",
                team.as_deref().unwrap_or("(none)"),
                change.evictions,
                change.renumbered
            );
        }
        Cmd::User {
            cmd: UserCmd::SetRole { email, role },
        } => {
            let parsed = Role::parse(&role).context("role must be agent or admin")?;
            let pool = db::connect(&url, 2).await?;
            let change = admin::set_role(&pool, &email, parsed).await?;
            println!(
                "{email}: role {role}; {} evictions, {} rows to send again",
                change.evictions, change.renumbered
            );
        }
        Cmd::Device {
            cmd: DeviceCmd::Revoke { tenant, device },
        } => {
            let pool = db::connect(&url, 2).await?;
            admin::revoke_device(&pool, tenant, device).await?;
            println!("revoked {device}");
        }
    }
    Ok(())
}
