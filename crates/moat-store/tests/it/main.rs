//! The store on both backends: migrations, settings, the durable SQLite setup, the
//! audit tables and the error for a missing or corrupt data directory.

use moat_domain::{RiskTier, Sensitivity, Source};
use moat_store::{Error, NewLeaf, Open, Store};
use moat_test_support::store_test;

store_test!(migrates_and_keeps_settings, |store| {
    store.check().await.unwrap();
    let mut c = store.conn().await.unwrap();
    assert_eq!(moat_store::get_setting(&mut c, "k").await.unwrap(), None);
    moat_store::set_setting(&mut c, "k", "v1").await.unwrap();
    moat_store::set_setting(&mut c, "k", "v2").await.unwrap();
    assert_eq!(
        moat_store::get_setting(&mut c, "k")
            .await
            .unwrap()
            .as_deref(),
        Some("v2")
    );
    let head = moat_store::audit_head(&mut c).await.unwrap();
    assert_eq!((head.size, head.checkpoint), (0, None));
});

store_test!(audit_rows_round_trip, |store| {
    let mut tx = store.begin().await.unwrap();
    for seq in 0..3u64 {
        moat_store::insert_leaf(
            &mut tx,
            &NewLeaf {
                seq,
                time: format!("2026-11-25T00:00:0{seq}.000Z"),
                leaf: vec![seq as u8; 10],
                leaf_hash: [seq as u8; 32],
                nodes: vec![(0, seq, [seq as u8; 32])],
                details: (seq == 1).then(|| (vec![7; 16], "{\"x\":1}".to_owned())),
            },
        )
        .await
        .unwrap();
    }
    moat_store::set_audit_head(&mut tx, 3, "note")
        .await
        .unwrap();
    moat_store::insert_checkpoint(&mut tx, 3, "note", "2026-11-25T00:00:03.000Z")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut c = store.conn().await.unwrap();
    let rows = moat_store::audit_entries(&mut c, 1, 10).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(rows[0].details.as_ref().unwrap().1, "{\"x\":1}");
    let since = moat_store::audit_entries_since(&mut c, "2026-11-25T00:00:02.000Z", 10)
        .await
        .unwrap();
    assert_eq!(since.len(), 1);
    let nodes = moat_store::audit_nodes(&mut c, &[(0, 0), (0, 2), (5, 5)])
        .await
        .unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[&(0, 2)], [2; 32]);
    assert_eq!(moat_store::list_checkpoints(&mut c).await.unwrap().len(), 1);
    assert!(moat_store::erase_audit_details(&mut c, 1).await.unwrap());
    assert!(moat_store::audit_entry(&mut c, 1)
        .await
        .unwrap()
        .unwrap()
        .details
        .is_none());
});

store_test!(rolled_back_transactions_leave_nothing, |store| {
    let mut tx = store.begin().await.unwrap();
    let m = moat_domain::ModelVersion {
        name: "m".into(),
        version: "1".into(),
        digest: "sha256:00".into(),
        artifacts: vec![moat_domain::Artifact {
            path: "a".into(),
            size: 1,
            sha256: "00".into(),
        }],
        owner: "o".into(),
        tier: RiskTier::High,
        sensitivity: Sensitivity::Public,
        source: Source::Internal,
        ai_system: None,
        registered_by: "prn_x".into(),
        registered_at: moat_domain::now(),
        last_review_at: None,
        review_due: moat_domain::now(),
    };
    moat_store::insert_model_version(&mut tx, &m).await.unwrap();
    tx.rollback().await.unwrap();
    let mut c = store.conn().await.unwrap();
    assert!(moat_store::get_model_version(&mut c, "m", "1")
        .await
        .unwrap()
        .is_none());
    drop(c);
    let mut tx = store.begin().await.unwrap();
    moat_store::insert_model_version(&mut tx, &m).await.unwrap();
    let dup = moat_store::insert_model_version(&mut tx, &m)
        .await
        .unwrap_err();
    assert_eq!(dup.to_string(), "model version `m@1` already exists");
    drop(tx);
    let mut c = store.conn().await.unwrap();
    assert!(moat_store::get_model_version(&mut c, "m", "1")
        .await
        .unwrap()
        .is_none());
});

#[tokio::test]
async fn sqlite_runs_in_wal_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("moat.db").display());
    let store = Store::open(&url, Open::CreateIfMissing).await.unwrap();
    let mut c = store.conn().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!((mode.as_str(), sync), ("wal", 2));
}

#[tokio::test]
async fn missing_and_corrupt_stores_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moat.db");
    let url = format!("sqlite://{}", path.display());
    let e = Store::open(&url, Open::MustExist).await.unwrap_err();
    assert!(matches!(e, Error::NotInitialised(_)));
    assert!(e.to_string().contains("run `moat init` first"));
    std::fs::write(
        &path,
        b"this is not a database, just some bytes that pretend to be one",
    )
    .unwrap();
    let e = Store::open(&url, Open::MustExist).await.unwrap_err();
    assert!(!e.to_string().is_empty());
    assert!(matches!(
        Store::open("mysql://x", Open::MustExist).await,
        Err(Error::Url(_))
    ));
}
