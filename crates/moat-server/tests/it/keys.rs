//! API keys and least privilege: keys are shown once and stored as hashes, expire,
//! rotate with an overlap, revoke at once; every permission check is enforced and
//! every denial is audited.

use std::time::Duration;

use moat_domain::{AuthMethod, RiskTier, Role};
use moat_server::{NewKeyRequest, ServiceError};
use moat_test_support::store_test;

use crate::{app, as_role, ctx, model};

store_test!(keys_are_hashed_and_lifecycle_works, |store| {
    let (app, cx, admin_key) = app(&store).await;
    assert!(admin_key.starts_with("moat_sk_key_"));
    let k = app
        .create_key(
            &cx,
            NewKeyRequest {
                name: "ci".into(),
                role: Role::Service,
                endpoints: vec![],
                expires_in_secs: Some(3600),
            },
        )
        .await
        .unwrap();
    // Only the hash is stored: the secret appears nowhere in the database.
    let mut c = store.conn().await.unwrap();
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM api_keys")
        .fetch_all(&mut *c)
        .await
        .unwrap();
    drop(c);
    assert!(stored.iter().all(|h| h.len() == 32));
    assert!(!stored.iter().any(|h| h.windows(8).any(|w| k
        .key
        .as_bytes()
        .windows(8)
        .any(|x| x == w))));
    let svc = ctx(&app, &k.key).await;
    assert_eq!(svc.principal.role, Role::Service);
    assert!(app
        .authenticate(
            "moat_sk_key_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            AuthMethod::ApiKey
        )
        .await
        .is_err());
    let mut tampered = k.key.clone();
    tampered.replace_range(tampered.len() - 3.., "zzz");
    assert!(matches!(
        app.authenticate(&tampered, AuthMethod::ApiKey).await,
        Err(ServiceError::Unauthenticated)
    ));

    // Rotation: new key works, old key still works during the overlap.
    let new = app
        .rotate_key(&cx, &k.info.id, Some(Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(new.info.rotated_from.as_deref(), Some(k.info.id.as_str()));
    assert!(app.authenticate(&new.key, AuthMethod::ApiKey).await.is_ok());
    assert!(app.authenticate(&k.key, AuthMethod::ApiKey).await.is_ok());
    // A zero-second overlap expires the old key at once.
    let newer = app
        .rotate_key(&cx, &new.info.id, Some(Duration::from_secs(0)))
        .await
        .unwrap();
    assert!(app
        .authenticate(&new.key, AuthMethod::ApiKey)
        .await
        .is_err());
    // Revocation takes effect on the next call.
    app.revoke_key(&cx, &newer.info.id).await.unwrap();
    assert!(matches!(
        app.authenticate(&newer.key, AuthMethod::ApiKey).await,
        Err(ServiceError::Unauthenticated)
    ));
    assert!(matches!(
        app.revoke_key(&cx, &newer.info.id).await,
        Err(ServiceError::Conflict(_))
    ));
    let keys = app.list_keys(&cx).await.unwrap();
    assert_eq!(keys.len(), 4);
    assert!(serde_json::to_string(&keys).unwrap().find(&k.key).is_none());
});

store_test!(expired_keys_are_rejected, |store| {
    let (app, cx, _) = app(&store).await;
    let k = app
        .create_key(
            &cx,
            NewKeyRequest {
                name: "short".into(),
                role: Role::Auditor,
                endpoints: vec![],
                expires_in_secs: Some(1),
            },
        )
        .await
        .unwrap();
    assert!(app.authenticate(&k.key, AuthMethod::ApiKey).await.is_ok());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(app.authenticate(&k.key, AuthMethod::ApiKey).await.is_err());
});

store_test!(least_privilege_and_denials_are_audited, |store| {
    let (app, cx, _) = app(&store).await;
    let auditor = as_role(&app, &cx, "alice", Role::Auditor).await;
    let e = app
        .register_model(&auditor, model("m", "1", RiskTier::High))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "permission `model.register` requires role admin, owner or data-scientist (you are `alice` with role auditor)"
    );
    // Auditors read everything, including the audit log.
    assert!(app.inventory(&auditor).await.is_ok());
    let log = app.audit_log(&auditor, 0, None, 1000).await.unwrap();
    let denied: Vec<_> = log
        .iter()
        .filter(|e| e.entry["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].entry["action"], "model.register");
    assert_eq!(
        denied[0].entry["actor"]["id"],
        auditor.principal.id.as_str()
    );
    assert_eq!(
        denied[0].details.as_ref().unwrap()["reason"],
        "permission `model.register` requires role admin, owner or data-scientist"
    );
    // Listing keys and reading the log are privileged reads: they are audited.
    let before = app.audit_head(&cx).await.unwrap().0;
    app.list_keys(&auditor).await.unwrap();
    assert_eq!(app.audit_head(&cx).await.unwrap().0, before + 1);
    // No escalation: a non-admin hands out only roles within its own, adds keys only
    // to itself, rotates only its own keys and cannot revoke an admin's.
    let sec = as_role(&app, &cx, "sam", Role::Security).await;
    let req = |name: &str, role| NewKeyRequest {
        name: name.into(),
        role,
        endpoints: vec![],
        expires_in_secs: None,
    };
    for role in [Role::Admin, Role::Owner, Role::Service] {
        let e = app.create_key(&sec, req("x", role)).await.unwrap_err();
        assert!(matches!(e, ServiceError::Forbidden(_)), "{role}: {e}");
    }
    let aud2 = app
        .create_key(&sec, req("aud2", Role::Auditor))
        .await
        .unwrap();
    let e = app
        .create_key(&sec, req("alice", Role::Auditor))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("another principal"), "{e}");
    let keys = app.list_keys(&cx).await.unwrap();
    let admin_key = keys
        .iter()
        .find(|k| k.role == Role::Admin)
        .unwrap()
        .id
        .clone();
    assert!(matches!(
        app.revoke_key(&sec, &admin_key).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(
        app.rotate_key(&sec, &admin_key, None).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(
        app.rotate_key(&sec, &aud2.info.id, None).await,
        Err(ServiceError::Forbidden(_))
    ));
    app.revoke_key(&sec, &aud2.info.id).await.unwrap();
    let own = sec.principal.key_id.clone().unwrap();
    assert!(app.rotate_key(&sec, &own, None).await.is_ok());
    // Absurd lifetimes are refused, not a crash.
    let mut long = req("longlived", Role::Auditor);
    long.expires_in_secs = Some(u64::MAX);
    assert!(matches!(
        app.create_key(&cx, long).await,
        Err(ServiceError::Invalid(_))
    ));
    assert!(matches!(
        app.rotate_key(&cx, &own, Some(std::time::Duration::from_secs(u64::MAX)))
            .await,
        Err(ServiceError::Invalid(_))
    ));
    // The refused escalations are in the audit log as denials.
    let log = app.audit_log(&cx, 0, None, 10_000).await.unwrap();
    let denied = log
        .iter()
        .filter(|e| {
            e.entry["outcome"] == "denied" && e.entry["actor"]["id"] == sec.principal.id.as_str()
        })
        .count();
    assert!(denied >= 6, "{denied}");
    // A principal keeps its role.
    let e = app
        .create_key(
            &cx,
            NewKeyRequest {
                name: "alice".into(),
                role: Role::Admin,
                endpoints: vec![],
                expires_in_secs: None,
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("has role auditor"), "{e}");
    // Endpoint scopes must name inventory endpoints.
    let e = app
        .create_key(
            &cx,
            NewKeyRequest {
                name: "gw".into(),
                role: Role::Service,
                endpoints: vec!["nope".into()],
                expires_in_secs: None,
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("endpoint `nope` not found"), "{e}");
    // A service key cannot read the audit log or register models.
    let svc = as_role(&app, &cx, "pipeline", Role::Service).await;
    assert!(matches!(
        app.audit_log(&svc, 0, None, 10).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(app.audit_verify(&cx, &[]).await.unwrap().ok);
});
