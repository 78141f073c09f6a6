//! The service layer end to end on a real store: every test runs on SQLite and, when
//! `MOAT_TEST_DATABASE_URL` is set, on PostgreSQL (see `moat_test_support::store_test!`).

mod audit;
mod http;
mod inventory;
mod keys;

use moat_audit::SigningKey;
use moat_domain::{Artifact, AuthMethod, RiskTier, Role, Sensitivity, Source};
use moat_server::{App, Ctx, NewKeyRequest, RegisterDataset, RegisterModel, ServiceConfig};
use moat_store::Store;

pub(crate) const ORIGIN: &str = "moat.test/audit";

/// An application on `store` with a bootstrapped admin; returns the admin's context
/// and key.
pub(crate) async fn app(store: &Store) -> (App, Ctx, String) {
    let mut c = store.conn().await.unwrap();
    moat_store::set_setting(&mut c, "audit.origin", ORIGIN)
        .await
        .unwrap();
    drop(c);
    let config = ServiceConfig {
        audit_origin: ORIGIN.into(),
        checkpoint_every: 4,
        ..ServiceConfig::default()
    };
    let app = App::new(
        store.clone(),
        config,
        SigningKey::from_seed(ORIGIN, [5; 32]).unwrap(),
    );
    let admin = app.bootstrap("root-admin").await.unwrap();
    let cx = ctx(&app, &admin.key).await;
    (app, cx, admin.key)
}

pub(crate) async fn ctx(app: &App, key: &str) -> Ctx {
    Ctx {
        principal: app.authenticate(key, AuthMethod::CliKey).await.unwrap(),
        request_id: "req_test".into(),
    }
}

/// A key and context for a new principal with `role`.
pub(crate) async fn as_role(app: &App, admin: &Ctx, name: &str, role: Role) -> Ctx {
    let k = app
        .create_key(
            admin,
            NewKeyRequest {
                name: name.into(),
                role,
                endpoints: vec![],
                expires_in_secs: None,
            },
        )
        .await
        .unwrap();
    ctx(app, &k.key).await
}

pub(crate) fn artifact(tag: &str) -> Artifact {
    use sha2::Digest as _;
    Artifact {
        path: format!("{tag}.bin"),
        size: tag.len() as u64,
        sha256: hex::encode(sha2::Sha256::digest(tag.as_bytes())),
    }
}

pub(crate) fn model(name: &str, version: &str, tier: RiskTier) -> RegisterModel {
    RegisterModel {
        name: name.into(),
        version: version.into(),
        artifacts: vec![artifact(&format!("{name}-{version}"))],
        datasets: vec![],
        owner: "risk".into(),
        tier,
        sensitivity: Sensitivity::Internal,
        source: Source::Internal,
        system: None,
    }
}

pub(crate) fn dataset(name: &str, version: &str) -> RegisterDataset {
    use sha2::Digest as _;
    RegisterDataset {
        name: name.into(),
        version: version.into(),
        path: format!("{name}.csv"),
        digest: format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(name.as_bytes()))
        ),
        size: 10,
        format: "csv".into(),
        schema: serde_json::json!({ "columns": [] }),
        owner: "data".into(),
        sensitivity: Sensitivity::Confidential,
        source: Source::Internal,
        system: None,
    }
}
