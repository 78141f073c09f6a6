//! The audit log on a real store: every change is in the log, proofs verify, and
//! `verify` detects a modified, deleted, reordered or inserted entry made by editing
//! the database directly, and names the entry.

use moat_audit::{leaf_hash, verify_consistency, verify_inclusion, Checkpoint, Entry};
use moat_domain::{RiskTier, Role};
use moat_server::{App, Ctx};
use moat_store::Store;
use moat_test_support::store_test;

use crate::{app, as_role, model, ORIGIN};

/// A log of some 20 entries: registrations, aliases, a denial.
async fn populated(store: &Store) -> (App, Ctx) {
    let (app, cx, _) = app(store).await;
    for v in 1..=8 {
        app.register_model(&cx, model("m", &v.to_string(), RiskTier::Limited))
            .await
            .unwrap();
    }
    app.set_alias(&cx, "m", "production", "3").await.unwrap();
    let aud = as_role(&app, &cx, "audrey", Role::Auditor).await;
    let _ = app
        .register_model(&aud, model("m", "9", RiskTier::Limited))
        .await;
    app.review(&cx, "model", "m@3", "personal remark by Jane Doe")
        .await
        .unwrap();
    assert!(app.audit_verify(&cx, &[]).await.unwrap().ok);
    (app, cx)
}

async fn leaf(store: &Store, seq: i64) -> Vec<u8> {
    let mut c = store.conn().await.unwrap();
    sqlx::query_scalar("SELECT leaf FROM audit_entries WHERE seq = $1")
        .bind(seq)
        .fetch_one(&mut *c)
        .await
        .unwrap()
}

async fn write_leaf(store: &Store, seq: i64, leaf: &[u8], rehash: bool) {
    let mut c = store.conn().await.unwrap();
    let q = if rehash {
        sqlx::query("UPDATE audit_entries SET leaf = $1, leaf_hash = $2 WHERE seq = $3")
            .bind(leaf.to_vec())
            .bind(leaf_hash(leaf).to_vec())
            .bind(seq)
    } else {
        sqlx::query("UPDATE audit_entries SET leaf = $1 WHERE seq = $2")
            .bind(leaf.to_vec())
            .bind(seq)
    };
    q.execute(&mut *c).await.unwrap();
}

async fn problems(app: &App, cx: &Ctx) -> Vec<String> {
    let v = app.audit_verify(cx, &[]).await.unwrap();
    assert!(!v.ok);
    v.problems
}

store_test!(every_change_is_logged_with_state_hashes, |store| {
    let (app, cx) = populated(&store).await;
    let log = app.audit_log(&cx, 0, None, 1000).await.unwrap();
    let regs: Vec<_> = log
        .iter()
        .filter(|e| e.entry["action"] == "model.register" && e.entry["outcome"] == "success")
        .collect();
    assert_eq!(regs.len(), 8);
    let e = &regs[2].entry;
    assert_eq!(e["resource"]["id"], "m@3");
    assert!(e["resource"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(e["before"].is_null());
    assert!(e["after"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(e["actor"]["auth"], "cli-key");
    let promote = log
        .iter()
        .find(|e| e.entry["action"] == "model.promote")
        .unwrap();
    assert_eq!(promote.entry["resource"]["id"], "m:production");
    // Personal data stays outside the leaf.
    let review = log
        .iter()
        .find(|e| e.entry["action"] == "model.review")
        .unwrap();
    assert!(!review.entry.to_string().contains("Jane Doe"));
    assert_eq!(
        review.details.as_ref().unwrap()["notes"],
        "personal remark by Jane Doe"
    );
    // Entries form a hash chain.
    for w in log.windows(2) {
        assert_eq!(w[1].entry["prev"].as_str().unwrap(), w[0].leaf_hash);
    }
});

store_test!(proofs_verify_against_the_signed_head, |store| {
    let (app, cx) = populated(&store).await;
    let (size, note) = app.audit_head(&cx).await.unwrap();
    let cp = Checkpoint::open(&note.unwrap(), &app.verifier_key(), ORIGIN).unwrap();
    assert_eq!(cp.size, size);
    for seq in 0..size {
        // Each proof is itself audited, so the head it is against moves on.
        let p = app.audit_proof(&cx, seq).await.unwrap();
        let signed = Checkpoint::open(&p.checkpoint, &app.verifier_key(), ORIGIN).unwrap();
        assert_eq!(signed.size, p.tree_size);
        let proof: Vec<[u8; 32]> = p
            .proof
            .iter()
            .map(|h| hex::decode(h).unwrap().try_into().unwrap())
            .collect();
        let leaf: [u8; 32] = hex::decode(&p.leaf_hash).unwrap().try_into().unwrap();
        assert!(verify_inclusion(
            seq,
            p.tree_size,
            &leaf,
            &proof,
            &signed.root
        ));
        assert!(
            !verify_inclusion(seq, p.tree_size, &leaf, &proof, &cp.root) || p.tree_size == cp.size
        );
    }
    // Consistency between two signed checkpoints (history every 4 entries here, and
    // the head).
    let (size, _) = app.audit_head(&cx).await.unwrap();
    let c = app.audit_consistency(&cx, 4, size).await.unwrap();
    let h = |s: &str| -> [u8; 32] { hex::decode(s).unwrap().try_into().unwrap() };
    let proof: Vec<[u8; 32]> = c.proof.iter().map(|x| h(x)).collect();
    assert!(verify_consistency(
        4,
        size,
        &h(&c.root1),
        &h(&c.root2),
        &proof
    ));
    let old = Checkpoint::open(&c.checkpoint1, &app.verifier_key(), ORIGIN).unwrap();
    assert_eq!(old.root, h(&c.root1));
    let e = app.audit_consistency(&cx, 5, size).await.unwrap_err();
    assert!(
        e.to_string().contains("no signed checkpoint of size 5"),
        "{e}"
    );
    assert!(app.audit_proof(&cx, 10_000).await.is_err());
    // A checkpoint kept by a witness verifies, and the history grows.
    let witness = app.audit_checkpoint(&cx).await.unwrap();
    let v = app
        .audit_verify(&cx, std::slice::from_ref(&witness))
        .await
        .unwrap();
    assert!(v.ok && v.checkpoints_checked >= 3, "{v:?}");
    // A forged witness copy is rejected.
    let forged = witness.replacen(&format!("\n{}\n", v.size.min(cp.size + 1)), "\n1\n", 1);
    if forged != witness {
        assert!(!app.audit_verify(&cx, &[forged]).await.unwrap().ok);
    }
});

store_test!(detects_modified_entry, |store| {
    let (app, cx) = populated(&store).await;
    let l = leaf(&store, 5).await;
    let changed = String::from_utf8(l)
        .unwrap()
        .replace("\"success\"", "\"failure\"");
    write_leaf(&store, 5, changed.as_bytes(), false).await;
    let p = problems(&app, &cx).await;
    assert_eq!(
        p[0],
        "entry 5 was modified: its content does not match its leaf hash"
    );
});

store_test!(detects_modified_entry_with_recomputed_hash, |store| {
    let (app, cx) = populated(&store).await;
    let mut e = Entry::from_leaf(&leaf(&store, 6).await).unwrap();
    e.actor.id = "prn_someone_else".into();
    write_leaf(&store, 6, &e.leaf_bytes(), true).await;
    let p = problems(&app, &cx).await;
    assert!(
        p[0].starts_with("entry 6 was modified, or entries were removed or inserted after it"),
        "{p:?}"
    );
    assert!(p.iter().any(|x| x.contains("signed checkpoint")), "{p:?}");
});

store_test!(detects_deleted_entry, |store| {
    let (app, cx) = populated(&store).await;
    let mut c = store.conn().await.unwrap();
    sqlx::query("DELETE FROM audit_entries WHERE seq = 7")
        .execute(&mut *c)
        .await
        .unwrap();
    drop(c);
    let p = problems(&app, &cx).await;
    assert!(p[0].starts_with("entry 7 is missing"), "{p:?}");
    assert!(!p.iter().any(|x| x.contains("were deleted")), "{p:?}");
});

store_test!(detects_deleted_tail, |store| {
    let (app, cx) = populated(&store).await;
    let (size, _) = app.audit_head(&cx).await.unwrap();
    let mut c = store.conn().await.unwrap();
    sqlx::query("DELETE FROM audit_entries WHERE seq >= $1")
        .bind(size as i64 - 2)
        .execute(&mut *c)
        .await
        .unwrap();
    drop(c);
    let p = problems(&app, &cx).await;
    assert!(p.iter().any(|x| x.contains("were deleted")), "{p:?}");
});

store_test!(detects_reordered_entries, |store| {
    let (app, cx) = populated(&store).await;
    let (a, b) = (leaf(&store, 3).await, leaf(&store, 4).await);
    write_leaf(&store, 3, &b, true).await;
    write_leaf(&store, 4, &a, true).await;
    let p = problems(&app, &cx).await;
    assert_eq!(
        p[0],
        "entry 3 holds the content of entry 4: entries were removed, inserted or reordered"
    );
});

store_test!(detects_inserted_entry, |store| {
    let (app, cx) = populated(&store).await;
    let (size, _) = app.audit_head(&cx).await.unwrap();
    // A forged entry appended at the end with a correct chain link.
    let mut e = Entry::from_leaf(&leaf(&store, size as i64 - 1).await).unwrap();
    e.seq = size;
    e.prev = hex::encode(leaf_hash(&leaf(&store, size as i64 - 1).await));
    e.action = "model.promote".into();
    let bytes = e.leaf_bytes();
    let mut c = store.conn().await.unwrap();
    sqlx::query("INSERT INTO audit_entries (seq, time, leaf, leaf_hash) VALUES ($1, $2, $3, $4)")
        .bind(size as i64)
        .bind(e.time.clone())
        .bind(bytes.clone())
        .bind(leaf_hash(&bytes).to_vec())
        .execute(&mut *c)
        .await
        .unwrap();
    drop(c);
    let p = problems(&app, &cx).await;
    assert_eq!(p, vec![format!("entries {size}..{size} are not covered by the signed head: they were added without the log's key")]);
});

store_test!(
    erasing_details_keeps_the_log_valid_but_editing_them_does_not,
    |store| {
        let (app, cx) = populated(&store).await;
        let log = app.audit_log(&cx, 0, None, 1000).await.unwrap();
        let seq = log
            .iter()
            .find(|e| e.entry["action"] == "model.review")
            .unwrap()
            .seq;
        let mut c = store.conn().await.unwrap();
        sqlx::query("UPDATE audit_details SET body = $1 WHERE seq = $2")
            .bind("{\"notes\":\"nothing to see\"}")
            .bind(seq as i64)
            .execute(&mut *c)
            .await
            .unwrap();
        drop(c);
        let p = problems(&app, &cx).await;
        assert_eq!(p[0], format!("the details of entry {seq} were modified: they do not match the entry's commitment"));
        // Only admins erase, with a reason; the erasure is itself audited.
        let sec = as_role(&app, &cx, "sec", Role::Security).await;
        assert!(app.audit_erase(&sec, seq, "GDPR request 42").await.is_err());
        assert!(app.audit_erase(&cx, seq, " ").await.is_err());
        app.audit_erase(&cx, seq, "GDPR request 42").await.unwrap();
        assert!(app.audit_erase(&cx, seq, "again").await.is_err());
        let log = app.audit_log(&cx, 0, None, 1000).await.unwrap();
        let erase = log
            .iter()
            .find(|e| e.entry["action"] == "audit.erase" && e.entry["outcome"] == "success")
            .unwrap();
        assert_eq!(erase.entry["resource"]["id"], seq.to_string());
        assert!(log.iter().find(|e| e.seq == seq).unwrap().details.is_none());
        let v = app.audit_verify(&cx, &[]).await.unwrap();
        assert!(v.ok, "{:?}", v.problems);
        assert_eq!(v.erased_details, 1);
    }
);

store_test!(concurrent_writers_keep_one_consistent_log, |store| {
    let (app, cx, _) = app(&store).await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (app, cx) = (app.clone(), cx.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                app.register_model(
                    &cx,
                    model(&format!("w{w}"), &i.to_string(), RiskTier::Minimal),
                )
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let v = app.audit_verify(&cx, &[]).await.unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.size, 1 + 40);
});

store_test!(refuses_to_sign_a_forged_tree, |store| {
    let (app, cx) = populated(&store).await;
    // Rewrite a stored tree node on the frontier: the next write must not sign it.
    let (size, _) = app.audit_head(&cx).await.unwrap();
    let ids = moat_audit::Frontier::ids(size);
    let mut c = store.conn().await.unwrap();
    sqlx::query("UPDATE audit_nodes SET hash = $1 WHERE level = $2 AND idx = $3")
        .bind(vec![7u8; 32])
        .bind(i64::from(ids[0].level))
        .bind(ids[0].index as i64)
        .execute(&mut *c)
        .await
        .unwrap();
    drop(c);
    let e = app
        .register_model(&cx, model("m", "99", RiskTier::Minimal))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("does not match its signed head"),
        "{e}"
    );
    assert!(
        app.show_model(&cx, "m@99").await.is_err(),
        "nothing was written"
    );
});
