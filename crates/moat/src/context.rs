//! Resolving where the store is and who is acting: configuration, data directory,
//! database URL, the audit signing key and the caller's API key.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use moat_audit::{SigningKey, VerifierKey};
use moat_domain::AuthMethod;
use moat_server::{App, Ctx, ServiceConfig};
use moat_store::{Open, Store};

use crate::cli::Global;
use crate::config::{Config, RawConfig};

pub(crate) const ADMIN_KEY_FILE: &str = "admin.key";
pub(crate) const SIGNING_KEY_FILE: &str = "audit-signing.key";
pub(crate) const PUBLIC_KEY_FILE: &str = "audit-signing.pub";
pub(crate) const DB_FILE: &str = "moat.db";
const ORIGIN_SETTING: &str = "audit.origin";

/// A usage problem: printed and exits with 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub String);

pub(crate) struct Env {
    pub config: Config,
    pub api_key: Option<String>,
}

impl Env {
    pub(crate) fn resolve(g: &Global) -> anyhow::Result<Env> {
        let (path, required) = match &g.config {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from("moat.toml"), false),
        };
        let mut raw = match fs::read_to_string(&path) {
            Ok(text) => RawConfig::parse(&text, &path)?,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => RawConfig::default(),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read configuration `{}`", path.display()))
            }
        };
        raw.apply_env(&|k| std::env::var(k).ok())?;
        // Flags (and their MOAT_* variables, which clap reads) override the file.
        if let Some(d) = &g.data_dir {
            raw.storage.data_dir = Some(d.clone());
        }
        if let Some(u) = &g.database_url {
            raw.storage.database_url = Some(u.clone());
        }
        Ok(Env {
            config: raw.validate()?,
            api_key: g.api_key.clone(),
        })
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    pub(crate) fn database_url(&self) -> String {
        match &self.config.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir().join(DB_FILE).display()),
        }
    }

    pub(crate) fn describe_store(&self) -> String {
        match &self.config.database_url {
            Some(u) => moat_store::redact_url(u),
            None => self.data_dir().join(DB_FILE).display().to_string(),
        }
    }

    pub(crate) fn is_initialised(&self) -> bool {
        self.has_signing_key()
            || self.data_dir().join(PUBLIC_KEY_FILE).exists()
            || std::env::var("MOAT_AUDIT_PUBLIC_KEY").is_ok()
    }

    pub(crate) async fn open_store(&self, open: Open) -> anyhow::Result<Store> {
        if open == Open::MustExist && !self.is_initialised() {
            bail!(
                "no Moat data directory at `{}`; run `moat init` first (or pass --data-dir)",
                self.data_dir().display()
            );
        }
        Store::open(&self.database_url(), open)
            .await
            .with_context(|| format!("cannot open the store `{}`", self.describe_store()))
    }

    fn signing_key(&self) -> anyhow::Result<SigningKey> {
        let text = match std::env::var("MOAT_AUDIT_SIGNING_KEY") {
            Ok(t) => zeroize::Zeroizing::new(t),
            Err(_) => {
                let p = self.data_dir().join(SIGNING_KEY_FILE);
                zeroize::Zeroizing::new(fs::read_to_string(&p).with_context(|| {
                    format!(
                        "cannot read the audit signing key `{}`; run `moat init`",
                        p.display()
                    )
                })?)
            }
        };
        SigningKey::parse(&text).context("the audit signing key is malformed")
    }

    /// Opens the store and builds the application with its signing key.
    pub(crate) async fn app(&self) -> anyhow::Result<App> {
        let store = self.open_store(Open::MustExist).await?;
        self.app_on(store).await
    }

    /// The log's public key, for verify-only use: `MOAT_AUDIT_PUBLIC_KEY` or
    /// `audit-signing.pub` in the data directory.
    fn public_key(&self) -> Option<anyhow::Result<VerifierKey>> {
        let text = match std::env::var("MOAT_AUDIT_PUBLIC_KEY") {
            Ok(t) => t,
            Err(_) => fs::read_to_string(self.data_dir().join(PUBLIC_KEY_FILE)).ok()?,
        };
        Some(VerifierKey::parse(&text).context("the audit public key is malformed"))
    }

    fn has_signing_key(&self) -> bool {
        std::env::var("MOAT_AUDIT_SIGNING_KEY").is_ok()
            || self.data_dir().join(SIGNING_KEY_FILE).exists()
    }

    pub(crate) async fn app_on(&self, store: Store) -> anyhow::Result<App> {
        let mut c = store.conn().await?;
        let origin = moat_store::get_setting(&mut c, ORIGIN_SETTING)
            .await?
            .context("the store has no audit origin; run `moat init`")?;
        drop(c);
        let config = ServiceConfig {
            review_cycles: self.config.review_cycles,
            audit_origin: origin.clone(),
            rotation_overlap: self.config.rotation_overlap,
            checkpoint_every: self.config.checkpoint_every,
        };
        if !self.has_signing_key() {
            if let Some(public) = self.public_key() {
                let public = public?;
                if public.name() != origin {
                    bail!(
                        "the audit public key is for log `{}` but this store's log is `{origin}`",
                        public.name()
                    );
                }
                return Ok(App::verify_only(store, config, public));
            }
        }
        let signer = self.signing_key()?;
        if signer.name() != origin {
            bail!(
                "the audit signing key is for log `{}` but this store's log is `{origin}`: wrong --data-dir or MOAT_AUDIT_SIGNING_KEY?",
                signer.name()
            );
        }
        Ok(App::new(store, config, signer))
    }

    /// The caller: `--api-key`/`MOAT_API_KEY`, else the admin key in the data directory.
    pub(crate) async fn ctx(&self, app: &App) -> anyhow::Result<Ctx> {
        let key = match &self.api_key {
            Some(k) => zeroize::Zeroizing::new(k.clone()),
            None => {
                let p = self.data_dir().join(ADMIN_KEY_FILE);
                zeroize::Zeroizing::new(fs::read_to_string(&p).with_context(|| {
                    format!("no API key: pass --api-key or MOAT_API_KEY, or run `moat init` to create `{}`", p.display())
                })?)
            }
        };
        let principal = app.authenticate(&key, AuthMethod::CliKey).await?;
        Ok(Ctx {
            principal,
            request_id: moat_server::new_id("req"),
        })
    }

    /// `moat init`: data directory, database, signing key, first admin key.
    pub(crate) async fn init(&self, admin_name: &str) -> anyhow::Result<InitOutcome> {
        let dir = self.data_dir();
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory `{}`", dir.display()))?;
        restrict_dir(dir)?;
        let store = self.open_store(Open::CreateIfMissing).await?;
        let mut c = store.conn().await?;
        let origin = match moat_store::get_setting(&mut c, ORIGIN_SETTING).await? {
            Some(o) => o,
            None => {
                let o = self.config.audit_origin.clone().unwrap_or_else(|| {
                    format!(
                        "moat.local/audit/{}",
                        hex::encode(moat_server::random_bytes::<4>())
                    )
                });
                moat_store::set_setting(&mut c, ORIGIN_SETTING, &o).await?;
                o
            }
        };
        drop(c);
        let key_path = dir.join(SIGNING_KEY_FILE);
        if std::env::var("MOAT_AUDIT_SIGNING_KEY").is_err() && !key_path.exists() {
            let key = SigningKey::from_seed(&origin, moat_server::random_bytes::<32>())?;
            write_private(&key_path, &key.to_secret_string())?;
            fs::write(dir.join(PUBLIC_KEY_FILE), format!("{}\n", key.verifier()))?;
        }
        let app = self.app_on(store).await?;
        let created = app.bootstrap(admin_name).await.map_err(|e| match e {
            moat_server::ServiceError::Conflict(_) => anyhow::anyhow!(
                "already initialised: `{}` has principals; use its admin key (`{}`)",
                self.describe_store(),
                dir.join(ADMIN_KEY_FILE).display()
            ),
            other => other.into(),
        })?;
        let admin_path = dir.join(ADMIN_KEY_FILE);
        write_private(&admin_path, &format!("{}\n", created.key))?;
        Ok(InitOutcome {
            admin_key_path: admin_path,
            public_key: app.verifier_key().to_string(),
            origin: app.config().audit_origin.clone(),
            app,
        })
    }
}

pub(crate) struct InitOutcome {
    pub admin_key_path: PathBuf,
    pub public_key: String,
    pub origin: String,
    pub app: App,
}

#[cfg(unix)]
fn restrict_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict permissions of `{}`", dir.display()))
}

#[cfg(not(unix))]
fn restrict_dir(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Writes a secret file readable by its owner only (0600), replacing any old one.
pub(crate) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    let mut f = o
        .open(&tmp)
        .with_context(|| format!("cannot write `{}`", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}
