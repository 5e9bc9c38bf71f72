//! `balados app …`: what an app's developer needs before any server is involved — a key pair, the
//! URL that sends a user to authorize the app, and API tokens signed as the app would sign them.
//! Nothing here reads the settings or a database.

use anyhow::Context as _;
use balados_auth::request::{AppInfo, AuthorizationRequest, MAX_APP_ID, sign_request};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// How long an authorization request lives: the user approves it within minutes.
const REQUEST_LIFETIME_SECS: i64 = 600;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Generate an app's key pair: DIR/APP.key.pem (private, mode 0600) and DIR/APP.pem (public;
    /// copy it into auth.app_keys_dir for an operator's app, never the private one).
    Keygen {
        /// The directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The app id (1 to 100 of [A-Za-z0-9._-]).
        #[arg(long)]
        app: String,
        /// Replace files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Print the URL that asks a user to authorize the app (a request signed with its key, valid
    /// for 10 minutes, checked here first as the server will check it).
    AuthorizeUrl(AuthorizeArgs),
    /// Sign an API token as the app would.
    SignToken(SignArgs),
}

#[derive(Debug, Args)]
pub struct AuthorizeArgs {
    /// The app's RSA private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// Its public key (PEM); by default the key's path with `.key.pem` replaced by `.pem`.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// The app id.
    #[arg(long)]
    pub app: String,
    /// The app's name, as the user will see it.
    #[arg(long)]
    pub name: String,
    /// The app's site (https, or http on localhost).
    #[arg(long)]
    pub url: String,
    /// The app's image, shown to the user.
    #[arg(long)]
    pub image: Option<String>,
    /// Where to send the user back, on the app's origin.
    #[arg(long)]
    pub redirect_uri: Option<String>,
    /// Echoed back to the redirect URI.
    #[arg(long)]
    pub state: Option<String>,
    /// The scopes asked for, space-separated.
    #[arg(long, default_value = "user.plays user.subscriptions")]
    pub scopes: String,
    /// The server the user authorizes on.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The app's RSA private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The app id (JWT `iss`).
    #[arg(long)]
    pub app: String,
    /// The user id (JWT `sub`).
    #[arg(long)]
    pub user: String,
    #[arg(long)]
    pub device_id: Option<String>,
    #[arg(long)]
    pub device_name: Option<String>,
    /// Validity, in hours (at most 31 days).
    #[arg(long, default_value_t = 24)]
    pub ttl_hours: i64,
}

pub fn run(command: AppCommand) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp();
    match command {
        AppCommand::Keygen { out, app, force } => {
            let (private, public) = keygen(&out, &app, force)?;
            println!("{}\n{}", private.display(), public.display());
        }
        AppCommand::AuthorizeUrl(args) => println!("{}", authorize_url(&args, now)?),
        AppCommand::SignToken(args) => println!("{}", sign_token(&args, now)?),
    }
    Ok(())
}

/// Writes a new key pair for `app` into `dir`: the private key's path, then the public one's.
pub fn keygen(dir: &Path, app: &str, force: bool) -> anyhow::Result<(PathBuf, PathBuf)> {
    let app = app_id(app).map_err(|e| anyhow::anyhow!("--app: {e}"))?;
    let private = dir.join(format!("{app}.key.pem"));
    let public = dir.join(format!("{app}.pem"));
    if !force {
        // Both checked before either is written: never half a pair.
        for path in [&private, &public] {
            anyhow::ensure!(
                !path.exists(),
                "{} exists (--force replaces it)",
                path.display()
            );
        }
    }
    let (private_pem, public_pem) = balados_auth::generate_app_keys()?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_new(&private, &private_pem, 0o600)?;
    write_new(&public, &public_pem, 0o644)?;
    Ok((private, public))
}

/// Writes `path` afresh with `mode` (a file replaced is removed first: an existing file would keep
/// its own, perhaps wider, permissions).
fn write_new(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write as _;
    let failed = |e| anyhow::anyhow!("cannot write {}: {e}", path.display());
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(contents.as_bytes()).map_err(failed)
}

/// The URL sending a user to authorize the app, its request verified as the server will.
pub fn authorize_url(args: &AuthorizeArgs, now: i64) -> anyhow::Result<String> {
    let public_path = match &args.public_key {
        Some(path) => path.clone(),
        None => public_key_path(&args.key)?,
    };
    let private_pem = read(&args.key)?;
    let public_pem = String::from_utf8(read(&public_path)?)
        .with_context(|| format!("{} is not a PEM file", public_path.display()))?;
    let request = AuthorizationRequest {
        iss: args.app.clone(),
        app: AppInfo {
            name: args.name.clone(),
            url: args.url.clone(),
            image: args.image.clone(),
            public_key: public_pem,
        },
        scopes: args.scopes.clone(),
        redirect_uri: args.redirect_uri.clone(),
        state: args.state.clone(),
        iat: now,
        exp: now + REQUEST_LIFETIME_SECS,
    };
    let token = sign_request(&private_pem, &request)?;
    balados_auth::request::verify_request(&token, now)
        .map_err(|e| anyhow::anyhow!("the server would refuse this request: {e} ({})", e.code()))?;
    // A JWT is base64url and dots only: nothing in it needs escaping in a query string.
    Ok(format!(
        "{}/authorize?token={token}",
        args.server.trim_end_matches('/')
    ))
}

/// An API token for `args.user`, signed with the app's key.
pub fn sign_token(args: &SignArgs, now: i64) -> anyhow::Result<String> {
    let max_hours = balados_auth::MAX_TOKEN_LIFETIME_SECS / 3600;
    anyhow::ensure!(
        (1..=max_hours).contains(&args.ttl_hours),
        "--ttl-hours: a token lives 1 to {max_hours} hours ({} days); the server refuses longer",
        max_hours / 24
    );
    balados_schemas::UserId::parse(&args.user).map_err(|e| anyhow::anyhow!("--user: {e}"))?;
    let claims = balados_auth::Claims {
        iss: args.app.clone(),
        sub: args.user.clone(),
        exp: now + args.ttl_hours * 3600,
        iat: Some(now),
        device_id: args.device_id.clone(),
        device_name: args.device_name.clone(),
    };
    Ok(balados_auth::mint_token(&read(&args.key)?, &claims)?)
}

/// An app id as the server accepts it; it also names files, so no path ever comes of it.
fn app_id(raw: &str) -> anyhow::Result<&str> {
    let valid = (1..=MAX_APP_ID).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    anyhow::ensure!(valid, "an app id is 1 to {MAX_APP_ID} of [A-Za-z0-9._-]");
    Ok(raw)
}

/// `APP.key.pem` -> `APP.pem`, as `keygen` writes them.
fn public_key_path(private: &Path) -> anyhow::Result<PathBuf> {
    let name = private.file_name().and_then(|n| n.to_str());
    let stem = name.and_then(|n| n.strip_suffix(".key.pem"));
    let stem = stem.with_context(|| {
        format!(
            "{} does not end in .key.pem: name its public key with --public-key",
            private.display()
        )
    })?;
    Ok(private.with_file_name(format!("{stem}.pem")))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests;
