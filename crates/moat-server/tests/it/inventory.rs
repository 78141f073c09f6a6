//! Inventory and governance: registration, immutability, lineage, classification,
//! reviews and overdue flags, aliases and the protected production alias, AI systems,
//! vendors, endpoints, evidence; no partial writes on failure.

use moat_domain::{
    EvidenceKind, NewEvidence, RiskTier, Role, Sensitivity, Source, VendorQuestionnaire, Verdict,
};
use moat_server::{Classify, NewEndpoint, NewSystem, ServiceError, VendorInput};
use moat_test_support::store_test;

use crate::{app, as_role, dataset, model};

store_test!(registers_with_lineage_and_digest, |store| {
    let (app, cx, _) = app(&store).await;
    app.register_dataset(&cx, dataset("loans", "1"))
        .await
        .unwrap();
    let mut req = model("fraud", "1.0", RiskTier::High);
    req.datasets = vec!["loans@1".into()];
    let m = app.register_model(&cx, req.clone()).await.unwrap();
    assert!(m.digest.starts_with("sha256:") && m.digest.len() == 71);
    // The same files under another version give the same content address.
    let mut again = req.clone();
    again.version = "1.1".into();
    assert_eq!(
        app.register_model(&cx, again).await.unwrap().digest,
        m.digest
    );
    let l = app.lineage(&cx, "fraud@1.0").await.unwrap();
    assert_eq!(l.datasets.len(), 1);
    assert_eq!(l.datasets[0].name, "loans");
    // The dataset now follows the high-risk review cycle of the model built from it.
    let d = app.show_dataset(&cx, "loans@1").await.unwrap();
    assert_eq!(d.used_by.len(), 2);
    let days = (d.dataset.review_due - d.dataset.registered_at).whole_days();
    assert_eq!(days, 30);
});

store_test!(versions_are_immutable_and_errors_are_clear, |store| {
    let (app, cx, _) = app(&store).await;
    app.register_model(&cx, model("fraud", "1", RiskTier::Limited))
        .await
        .unwrap();
    let e = app
        .register_model(&cx, model("fraud", "1", RiskTier::Limited))
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Conflict(_)));
    assert_eq!(
        e.to_string(),
        "model version `fraud@1` already exists; versions are immutable: register a new version instead"
    );
    let mut bad = model("fraud", "2 beta", RiskTier::Limited);
    assert!(matches!(
        app.register_model(&cx, bad.clone()).await,
        Err(ServiceError::Invalid(_))
    ));
    bad.version = "2".into();
    bad.datasets = vec!["nope@1".into()];
    let e = app.register_model(&cx, bad.clone()).await.unwrap_err();
    assert!(
        e.to_string().contains("dataset version `nope@1` not found"),
        "{e}"
    );
    // No partial write: the model was not registered without its lineage.
    assert_eq!(app.list_models(&cx, Some("fraud")).await.unwrap().len(), 1);
    bad.datasets = vec![];
    bad.artifacts[0].sha256 = "XYZ".into();
    assert!(matches!(
        app.register_model(&cx, bad).await,
        Err(ServiceError::Invalid(_))
    ));
    assert!(matches!(
        app.show_model(&cx, "ghost@1").await,
        Err(ServiceError::NotFound(_))
    ));
    // The audit log recorded the failures and still verifies.
    let v = app.audit_verify(&cx, &[]).await.unwrap();
    assert!(v.ok, "{:?}", v.problems);
});

store_test!(classification_reviews_and_overdue, |store| {
    let (app, cx, _) = app(&store).await;
    app.register_model(&cx, model("m", "1", RiskTier::Minimal))
        .await
        .unwrap();
    let inv = app.inventory(&cx).await.unwrap();
    let row = inv.iter().find(|r| r.asset == "m@1").unwrap();
    assert_eq!(row.tier, Some(RiskTier::Minimal));
    assert!(!row.overdue);
    let m = app
        .classify_model(
            &cx,
            "m@1",
            Classify {
                tier: Some(RiskTier::High),
                sensitivity: Some(Sensitivity::Restricted),
            },
        )
        .await
        .unwrap();
    assert_eq!((m.review_due - m.registered_at).whole_days(), 30);
    let r = app
        .review(&cx, "model", "m@1", "looked fine")
        .await
        .unwrap();
    assert_eq!((r.next_due - r.reviewed_at).whole_days(), 30);
    assert!(app.review(&cx, "model", "m@1", "  ").await.is_err());
    let shown = app.show_model(&cx, "m@1").await.unwrap();
    assert_eq!(shown.reviews.len(), 1);
    assert_eq!(shown.version.last_review_at, Some(r.reviewed_at));
    // Overdue: move the due date into the past directly in the store.
    let mut c = store.conn().await.unwrap();
    moat_store::set_model_review_due(
        &mut c,
        "m",
        "1",
        moat_domain::now() - std::time::Duration::from_secs(86_400),
    )
    .await
    .unwrap();
    drop(c);
    let inv = app.inventory(&cx).await.unwrap();
    assert!(inv.iter().find(|r| r.asset == "m@1").unwrap().overdue);
    assert!(app.show_model(&cx, "m@1").await.unwrap().overdue);
});

store_test!(aliases_production_guard_and_rollback_history, |store| {
    let (app, cx, _) = app(&store).await;
    for v in ["1", "2"] {
        app.register_model(&cx, model("m", v, RiskTier::Limited))
            .await
            .unwrap();
    }
    app.register_model(&cx, model("m", "bad", RiskTier::Unacceptable))
        .await
        .unwrap();
    app.set_alias(&cx, "m", "production", "1").await.unwrap();
    let moved = app.set_alias(&cx, "m", "production", "2").await.unwrap();
    assert_eq!(moved.from_version.as_deref(), Some("1"));
    let h = app.alias_history(&cx, "m", "production").await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].from_version.as_deref(), Some("1"));
    assert_eq!(h[1].moved_by, cx.principal.id);
    let e = app
        .set_alias(&cx, "m", "production", "bad")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unacceptable-risk"), "{e}");
    // Classifying the production version as unacceptable is refused too.
    let e = app
        .classify_model(
            &cx,
            "m@2",
            Classify {
                tier: Some(RiskTier::Unacceptable),
                sensitivity: None,
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("move the alias first"), "{e}");
    // A data scientist may move staging but not production.
    let ds = as_role(&app, &cx, "dana", Role::DataScientist).await;
    app.set_alias(&ds, "m", "staging", "1").await.unwrap();
    let e = app
        .set_alias(&ds, "m", "production", "1")
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Forbidden(_)));
    assert!(
        e.to_string()
            .starts_with("permission `model.promote` requires role admin or owner"),
        "{e}"
    );
});

store_test!(systems_vendors_endpoints_evidence, |store| {
    let (app, cx, _) = app(&store).await;
    app.add_system(
        &cx,
        NewSystem {
            name: "credit".into(),
            owner: "risk".into(),
            description: String::new(),
        },
    )
    .await
    .unwrap();
    let vendor = VendorInput {
        name: "acme".into(),
        source: "hub:https://example.org/acme".into(),
        licence: "apache-2.0".into(),
        questionnaire: VendorQuestionnaire::Sent,
        last_review: Some("2026-01-31T00:00:00Z".into()),
        notes: String::new(),
    };
    app.add_vendor(&cx, vendor.clone(), false).await.unwrap();
    assert!(matches!(
        app.add_vendor(&cx, vendor.clone(), false).await,
        Err(ServiceError::Conflict(_))
    ));
    let mut approved = vendor.clone();
    approved.questionnaire = VendorQuestionnaire::Approved;
    app.add_vendor(&cx, approved, true).await.unwrap();
    let vs = app.list_vendors(&cx).await.unwrap();
    assert_eq!(vs[0].questionnaire, VendorQuestionnaire::Approved);
    assert!(vs[0].last_review_at.is_some());

    let mut m = model("scorer", "1", RiskTier::High);
    m.system = Some("credit".into());
    m.source = Source::Vendor("acme".into());
    app.register_model(&cx, m).await.unwrap();
    let mut low = model("helper", "1", RiskTier::Minimal);
    low.system = Some("credit".into());
    app.register_model(&cx, low).await.unwrap();
    let mut unknown = model("x", "1", RiskTier::High);
    unknown.source = Source::Vendor("nobody".into());
    assert!(matches!(
        app.register_model(&cx, unknown).await,
        Err(ServiceError::NotFound(_))
    ));
    app.set_alias(&cx, "scorer", "production", "1")
        .await
        .unwrap();
    let ep = NewEndpoint {
        name: "scoring".into(),
        model: "scorer".into(),
        target: "production".into(),
        upstream: "http://127.0.0.1:9001".into(),
        owner: "risk".into(),
        system: Some("credit".into()),
    };
    app.add_endpoint(&cx, ep.clone()).await.unwrap();
    let mut bad = ep.clone();
    bad.name = "other".into();
    bad.upstream = "ftp://x".into();
    assert!(matches!(
        app.add_endpoint(&cx, bad).await,
        Err(ServiceError::Invalid(_))
    ));
    let systems = app.list_systems(&cx).await.unwrap();
    assert_eq!(
        systems[0].tier,
        Some(RiskTier::High),
        "the riskiest part sets the tier"
    );
    assert_eq!(systems[0].models.len(), 2);
    assert_eq!(systems[0].endpoints, vec!["scoring".to_string()]);
    let l = app.lineage(&cx, "scorer@1").await.unwrap();
    assert_eq!(l.endpoints.len(), 1);

    let ev = app
        .add_evidence(
            &cx,
            NewEvidence {
                subject_kind: "model".into(),
                name: "scorer".into(),
                version: "1".into(),
                kind: EvidenceKind::Scan,
                verdict: Verdict::Warn,
                summary: "1 medium finding".into(),
                report: serde_json::json!({ "findings": [{ "severity": "medium" }] }),
            },
        )
        .await
        .unwrap();
    assert_eq!(ev.report_digest, moat_audit::canonical_digest(&ev.report));
    let list = app.list_evidence(&cx, "model", "scorer@1").await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].verdict, Verdict::Warn);
    assert_eq!(list[0].report["findings"][0]["severity"], "medium");
    let inv = app.inventory(&cx).await.unwrap();
    let kinds: Vec<&str> = inv.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, vec!["system", "model", "model", "endpoint"]);
});

store_test!(request_records_batch_list_and_expire, |store| {
    let (app, cx, _) = app(&store).await;
    let record = |i: usize, endpoint: &str, at: &str| moat_domain::TrafficRecord {
        id: format!("req_{i:04}"),
        at: at.into(),
        endpoint: endpoint.into(),
        key_id: "key_1".into(),
        method: "POST".into(),
        path: "/scoring/predict?email=<EMAIL_ADDRESS_1>".into(),
        status: if i % 2 == 0 { 200 } else { 429 },
        code: (i % 2 == 1).then(|| "rate_limited".to_owned()),
        latency_us: 120 + i as u64,
        request_bytes: Some(42),
        verdicts: if i == 0 {
            vec!["pii:alert".into()]
        } else {
            vec![]
        },
        body: None,
    };
    // More than one statement's worth: 600 records in one batch.
    let now = moat_domain::format_time(moat_domain::now());
    let mut batch: Vec<_> = (0..600).map(|i| record(i, "scoring", &now)).collect();
    batch.push(record(9999, "chat", "2020-01-01T00:00:00.000Z"));
    app.record_traffic(batch).await.unwrap();
    let all = app.list_traffic(&cx, None, 10_000).await.unwrap();
    assert_eq!(all.len(), 601);
    let scoring = app
        .list_traffic(&cx, Some("scoring"), 10_000)
        .await
        .unwrap();
    assert_eq!(scoring.len(), 600);
    let first = scoring.iter().find(|r| r.id == "req_0000").unwrap();
    assert_eq!(first.verdicts, ["pii:alert"]);
    assert_eq!(first.request_bytes, Some(42));
    let limited = scoring.iter().find(|r| r.id == "req_0001").unwrap();
    assert_eq!(
        (limited.status, limited.code.as_deref()),
        (429, Some("rate_limited"))
    );
    // Retention: the old record goes, the new ones stay.
    assert_eq!(app.prune_traffic(90).await.unwrap(), 1);
    assert_eq!(
        app.list_traffic(&cx, None, 10_000).await.unwrap().len(),
        600
    );
    // Auditors read it; data scientists do not.
    let ds = as_role(&app, &cx, "dana", moat_domain::Role::DataScientist).await;
    assert!(app.list_traffic(&ds, None, 10).await.is_err());
});

store_test!(rollback_returns_production_to_the_version_before, |store| {
    let (app, cx, _) = app(&store).await;
    for v in ["1", "2", "3"] {
        app.register_model(&cx, model("fraud", v, RiskTier::Limited))
            .await
            .unwrap();
        app.set_alias(&cx, "fraud", "production", v).await.unwrap();
    }
    app.add_endpoint(
        &cx,
        moat_server::NewEndpoint {
            name: "scoring".into(),
            model: "fraud".into(),
            target: "production".into(),
            upstream: "http://127.0.0.1:9".into(),
            owner: "risk".into(),
            system: None,
        },
    )
    .await
    .unwrap();
    let served = |app: &moat_server::App| {
        let app = app.clone();
        async move { app.served_versions().await.unwrap()[0].version.clone() }
    };
    assert_eq!(served(&app).await, "3");
    let r = app
        .rollback_endpoint(&cx, "scoring", Some("bad release"))
        .await
        .unwrap();
    assert_eq!((r.from_version.as_str(), r.to_version.as_str()), ("3", "2"));
    assert_eq!(served(&app).await, "2");
    let r = app.rollback_endpoint(&cx, "scoring", None).await.unwrap();
    assert_eq!(r.to_version, "1");
    let e = app
        .rollback_endpoint(&cx, "scoring", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no earlier version"), "{e}");
    // Data scientists may not roll back.
    let ds = as_role(&app, &cx, "dana", moat_domain::Role::DataScientist).await;
    assert!(app.rollback_endpoint(&ds, "scoring", None).await.is_err());
});
