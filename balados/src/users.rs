//! `balados admin user …`: accounts for operators and tests; users register on the pages.

use balados_accounts::{Accounts, Password, Username};
use balados_platform::Settings;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (its id a new UUID, or --id for data that already exists under an id).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, env = "BALADOS_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        id: Option<String>,
    },
    /// List the accounts.
    List,
    /// Disable an account: it can no longer log in.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Reset a forgotten password: the lock-out is cleared and every session of the account is
    /// logged out (its app passwords stay). Give the new one in BALADOS_ADMIN_PASSWORD rather than
    /// on the command line, where other users of the machine can see it.
    SetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, env = "BALADOS_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

pub async fn run(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    let pool = balados_platform::db::connect_with_retry(
        &settings.database,
        balados_platform::db::Role::Writer,
    )
    .await;
    let accounts = Accounts::new(pool);
    accounts.migrate().await?;
    match command {
        UserCommand::Create {
            username,
            password,
            id,
        } => {
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("--username: {e}"))?;
            let password = Password::choose(&password, username.as_str())
                .map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            if let Some(id) = &id {
                balados_schemas::UserId::parse(id).map_err(|e| anyhow::anyhow!("--id: {e}"))?;
            }
            let account = accounts.create(&username, &password, id.as_deref()).await?;
            println!("created {} (user id {})", account.username, account.user_id);
        }
        UserCommand::List => {
            for account in accounts.list().await? {
                let state = account
                    .disabled_at
                    .map_or("active".to_owned(), |at| format!("disabled {at}"));
                println!("{:<30} {:<36} {state}", account.username, account.user_id);
            }
        }
        UserCommand::Disable { username } => {
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("--username: {e}"))?;
            accounts.disable(&username).await?;
            println!("disabled {username}");
        }
        UserCommand::Enable { username } => {
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("--username: {e}"))?;
            accounts.enable(&username).await?;
            println!("enabled {username}");
        }
        UserCommand::SetPassword { username, password } => {
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("--username: {e}"))?;
            let password = Password::choose(&password, username.as_str())
                .map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            accounts.reset_password(&username, &password).await?;
            println!("new password set for {username}; its sessions are logged out");
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum AppPasswordCommand {
    /// Create an app password for a user and print it (shown once).
    Create {
        /// The username.
        #[arg(long)]
        user: String,
        /// What the user will recognise it by.
        #[arg(long, default_value = "created by an operator")]
        name: String,
    },
    /// List a user's app passwords.
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke one of a user's app passwords.
    Revoke {
        #[arg(long)]
        user: String,
        #[arg(long)]
        id: uuid::Uuid,
    },
}

pub async fn run_app_passwords(
    settings: &Settings,
    command: AppPasswordCommand,
) -> anyhow::Result<()> {
    let pool = balados_platform::db::connect_with_retry(
        &settings.database,
        balados_platform::db::Role::Writer,
    )
    .await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await?;
    let passwords = balados_accounts::AppPasswords::new(pool);
    let owner = |user: &str| -> anyhow::Result<Username> {
        Username::parse(user).map_err(|e| anyhow::anyhow!("--user: {e}"))
    };
    match command {
        AppPasswordCommand::Create { user, name } => {
            let account = accounts.find(&owner(&user)?).await?;
            let (record, secret) = passwords.create(&account.user_id, &name).await?;
            eprintln!(
                "app password {} for {} (shown once):",
                record.id, account.username
            );
            println!("{secret}");
        }
        AppPasswordCommand::List { user } => {
            let account = accounts.find(&owner(&user)?).await?;
            for p in passwords.list(&account.user_id).await? {
                let state = p
                    .revoked_at
                    .map_or("active".to_owned(), |at| format!("revoked {at}"));
                println!("{} {:<40} {}", p.id, p.name, state);
            }
        }
        AppPasswordCommand::Revoke { user, id } => {
            let account = accounts.find(&owner(&user)?).await?;
            passwords.revoke(&account.user_id, id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum PlayTokenCommand {
    /// Create a play token for a user and print it (shown once).
    Create {
        /// The username.
        #[arg(long)]
        user: String,
        /// What the user will recognise it by.
        #[arg(long)]
        name: String,
        /// Its lifetime, in days (1 to 3650).
        #[arg(long, default_value_t = balados_accounts::DEFAULT_PLAY_TOKEN_DAYS)]
        days: u32,
    },
    /// List a user's play tokens.
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke one of a user's play tokens.
    Revoke {
        #[arg(long)]
        user: String,
        #[arg(long)]
        id: uuid::Uuid,
    },
}

pub async fn run_play_tokens(settings: &Settings, command: PlayTokenCommand) -> anyhow::Result<()> {
    let pool = balados_platform::db::connect_with_retry(
        &settings.database,
        balados_platform::db::Role::Writer,
    )
    .await;
    let accounts = Accounts::new(pool.clone());
    accounts.migrate().await?;
    let tokens = balados_accounts::PlayTokens::new(pool);
    let owner = |user: &str| -> anyhow::Result<Username> {
        Username::parse(user).map_err(|e| anyhow::anyhow!("--user: {e}"))
    };
    match command {
        PlayTokenCommand::Create { user, name, days } => {
            let account = accounts.find(&owner(&user)?).await?;
            let (record, token) = tokens.create(&account.user_id, &name, days).await?;
            eprintln!(
                "play token {} for {}, until {} (shown once; the private feed is {}/rss/TOKEN/subscriptions):",
                record.id,
                account.username,
                record.expires_at,
                settings.http.public_url.trim_end_matches('/')
            );
            println!("{token}");
        }
        PlayTokenCommand::List { user } => {
            let account = accounts.find(&owner(&user)?).await?;
            for t in tokens.list(&account.user_id).await? {
                let state = t
                    .revoked_at
                    .map_or("active".to_owned(), |at| format!("revoked {at}"));
                println!(
                    "{} {:<40} created {} expires {} {state}",
                    t.id, t.name, t.created_at, t.expires_at
                );
            }
        }
        PlayTokenCommand::Revoke { user, id } => {
            let account = accounts.find(&owner(&user)?).await?;
            tokens.revoke(&account.user_id, id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
